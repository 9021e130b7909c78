//! What chats keep: memories per user and group, presets, history and stats, and whole turns
//! under concurrency.

use chatai_tests::chatting::{calculator_call, chat, last_system_prompt, with_upstream};
use chatai_tests::upstream::{Protocol, Step};
use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_relevant_memories_of_that_user_in_that_group_reach_the_prompt() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    let remember = |group: &'static str, content: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server
                .call(
                    Method::POST,
                    "/api/chat/memories",
                    json!({"userId": "m1", "groupId": group, "content": content}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    for fact in [
        "likes green tea",
        "drinks black tea daily",
        "owns a cat",
        "lives in Berlin",
        "plays the violin",
        "works nights",
    ] {
        remember("A", fact).await;
    }
    remember("B", "secret tea ceremony master").await;

    let (status, found) = server
        .get("/api/chat/memories?userId=m1&groupId=A&query=tea")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let contents: Vec<&str> = found["data"]
        .as_array()
        .expect("memories")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(contents.len(), 2, "{contents:?}");
    assert!(contents.iter().all(|c| c.contains("tea")));

    let (status, body) = chat(
        &server,
        json!({"message": "which tea should I buy", "userId": "m1", "groupId": "A", "mentioned": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["conversationId"], "group:A");
    let system = last_system_prompt(&upstream);
    assert!(
        system.contains("likes green tea") && system.contains("drinks black tea daily"),
        "{system}"
    );
    assert!(
        !system.contains("owns a cat"),
        "only the relevant ones: {system}"
    );
    assert!(
        !system.contains("ceremony"),
        "group B's memory stays in group B: {system}"
    );

    let (status, deleted) = server
        .call(
            Method::DELETE,
            "/api/chat/memories",
            json!({"userId": "m1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["data"]["deleted"], 7);
    server.stop().await;
}

#[tokio::test]
async fn presets_builtin_read_only_copies_and_the_default() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Claude).await;
    let (status, presets) = server.get("/api/presets").await;
    assert_eq!(status, StatusCode::OK);
    let list = presets["data"].as_array().expect("presets");
    assert!(list.len() >= 3 && list.iter().all(|p| p["isBuiltin"] == true));
    let (status, body) = server
        .call(Method::PUT, "/api/presets/coder", json!({"name": "x"}))
        .await;
    assert_error(status, &body, 409, "CONFLICT");
    let (status, copy) = server
        .call(Method::POST, "/api/presets", json!({"id": "pirate", "from": "assistant", "name": "Pirate",
            "systemPrompt": "You are {{bot_name}}, a pirate talking to {{user}}.", "temperature": 0.5}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    let (status, _) = server
        .call(Method::POST, "/api/presets/pirate/default", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .call(Method::DELETE, "/api/presets/pirate", json!({}))
        .await;
    assert_error(status, &body, 409, "CONFLICT");
    let (status, body) = chat(
        &server,
        json!({"message": "ahoy", "userId": "p1", "username": "Ann"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = upstream.requests().pop().expect("request");
    assert_eq!(
        request.body["system"]
            .as_str()
            .map(|s| s.starts_with("You are ChatAI, a pirate talking to Ann.")),
        Some(true),
        "{}",
        request.body["system"]
    );
    assert_eq!(request.body["temperature"], 0.5);
    let (status, body) = chat(
        &server,
        json!({"message": "x", "userId": "p1", "presetId": "nope"}),
    )
    .await;
    assert_error(status, &body, 404, "NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_chats_keep_every_turn_whole() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    upstream.script([], Step::Echo);
    let one = (0..16).map(|i| {
        let server = &server;
        async move {
            chat(
                server,
                json!({"message": format!("message {i}"), "userId": "c1"}),
            )
            .await
        }
    });
    for (status, body) in futures_util::future::join_all(one).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = server.get("/api/conversations/user:c1?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let messages = body["data"]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 32);
    for pair in messages.chunks(2) {
        assert_eq!(pair[0]["role"], "user");
        assert_eq!(pair[1]["role"], "assistant");
        // Each answer follows its own question: the echo names it.
        assert_eq!(
            pair[1]["content"],
            format!("echo: {}", pair[0]["content"].as_str().unwrap_or_default())
        );
    }
    let many = (0..64).map(|i| {
        let server = &server;
        async move {
            chat(
                server,
                json!({"message": "hi", "userId": format!("many{i}")}),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(many).await;
    assert!(
        results.iter().all(|(status, _)| *status == StatusCode::OK),
        "all 64 succeed"
    );
    server.stop().await;
}

#[tokio::test]
async fn history_and_stats_follow_the_users_turns() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Gemini).await;
    upstream.script(
        [
            calculator_call("x"),
            Step::Text("42".into()),
            Step::Text("bye".into()),
        ],
        Step::Text("?".into()),
    );
    for message in ["6*7?", "thanks"] {
        let (status, body) = chat(&server, json!({"message": message, "userId": 77})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, history) = server.get("/api/chat/history?userId=77").await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let shown: Vec<(String, String)> = history["data"]
        .as_array()
        .expect("history")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("user", "6*7?"),
        ("assistant", "42"),
        ("user", "thanks"),
        ("assistant", "bye"),
    ];
    assert_eq!(shown, expected.map(|(r, c)| (r.to_owned(), c.to_owned())));

    let (status, stats) = server.get("/api/chat/stats?userId=77&period=day").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let (prompt, completion) = upstream.usage;
    assert_eq!(stats["data"]["totalMessages"], 6);
    assert_eq!(stats["data"]["toolCalls"], 1);
    assert_eq!(stats["data"]["totalTokens"], 3 * (prompt + completion));
    assert_eq!(stats["data"]["byDay"].as_array().map(Vec::len), Some(1));
    // Three answers (the tool call, "42", "bye"), all from the one channel and model.
    assert_eq!(
        stats["data"]["byModel"],
        json!([{"channel": "gemini", "model": upstream.model, "answers": 3,
                "promptTokens": 3 * prompt, "completionTokens": 3 * completion}])
    );

    // A group's activity, and one user's within it, apart from the user's private chat.
    let (status, body) = chat(
        &server,
        json!({"message": "hi all", "userId": 78, "groupId": "g1", "mentioned": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (query, messages) in [
        ("groupId=g1", 2),
        ("groupId=g1&userId=78", 2),
        ("groupId=g1&userId=77", 0),
        ("userId=78", 2),
        ("groupId=g2", 0),
    ] {
        let (status, stats) = server
            .get(&format!("/api/chat/stats?{query}&period=day"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {stats}");
        assert_eq!(stats["data"]["totalMessages"], messages, "{query}: {stats}");
        let answers = stats["data"]["byModel"][0]["answers"].as_u64().unwrap_or(0);
        assert_eq!(answers, messages / 2, "{query}: {stats}");
    }
    let (status, body) = server.get("/api/chat/stats?period=day").await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    let (status, deleted) = server
        .call(Method::DELETE, "/api/chat/history", json!({"userId": "77"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["data"]["deleted"], 6);
    let (status, _) = server.get("/api/conversations/user:77").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn conversations_page_newest_first_with_a_cursor() {
    let server = TestServer::start().await;
    let _upstream = with_upstream(&server, Protocol::Openai).await;
    // Five private conversations and one group conversation (two users in it).
    for (user, group) in [
        ("p1", None),
        ("p2", None),
        ("p3", None),
        ("p4", None),
        ("p5", None),
        ("m1", Some("g")),
        ("m2", Some("g")),
    ] {
        let mut body = json!({"message": "hello", "userId": user});
        if let Some(group) = group {
            body["groupId"] = json!(group);
            body["mentioned"] = json!(true);
        }
        let (status, body) = chat(&server, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/conversations?limit=2&cursor={cursor}"),
            None => "/api/conversations?limit=2".to_owned(),
        };
        let (status, page) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let items = page["data"]["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["updatedAt"].as_str().unwrap_or_default().to_owned(),
            )
        }));
        match page["data"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "the cursor does not advance");
    }
    assert_eq!(pages, 3);
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    let mut expected = vec![
        "user:p1", "user:p2", "user:p3", "user:p4", "user:p5", "group:g",
    ];
    let mut sorted = ids.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every conversation once: {ids:?}");
    // Newest first: the group, written last, leads.
    assert_eq!(ids[0], "group:g");
    assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1), "{seen:?}");

    let (status, page) = server.get("/api/conversations?groupId=g").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"]["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["data"]["items"][0]["messageCount"], 4);
    let (status, page) = server.get("/api/conversations?userId=p3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"]["items"][0]["id"], "user:p3");
    assert!(page["data"]["nextCursor"].is_null());
    let (status, body) = server.get("/api/conversations?cursor=not-ours").await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    server.stop().await;
}

#[tokio::test]
async fn the_prompt_holds_the_last_messages_of_the_conversation() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "context.max_messages", "value": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    upstream.script(
        ["a1", "a2", "a3", "a4"].map(|text| Step::Text(text.into())),
        Step::Text("?".into()),
    );
    for message in ["u1", "u2", "u3", "u4"] {
        let (status, body) = chat(&server, json!({"message": message, "userId": 90})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let prompts: Vec<Vec<String>> = upstream
        .requests()
        .iter()
        .map(|request| {
            request.body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter(|m| m["role"] != "system")
                .map(|m| format!("{}:{}", m["role"].as_str().unwrap_or("?"), m["content"]))
                .collect()
        })
        .collect();
    // The last 3 stored messages, cut to start at a user's message, then the new one.
    let expected: [&[&str]; 4] = [
        &["user:\"u1\""],
        &["user:\"u1\"", "assistant:\"a1\"", "user:\"u2\""],
        &["user:\"u2\"", "assistant:\"a2\"", "user:\"u3\""],
        &["user:\"u3\"", "assistant:\"a3\"", "user:\"u4\""],
    ];
    assert_eq!(
        prompts,
        expected.map(|p| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    );
    server.stop().await;
}

/// A user's first memory reaches the next prompt, also after turns that found none (the server
/// skips the search of a scope it knows to be empty, and must forget that).
#[tokio::test]
async fn a_memory_added_after_turns_without_any_reaches_the_next_prompt() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    for _ in 0..2 {
        let (status, body) = chat(&server, json!({"message": "which music", "userId": "m2"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!last_system_prompt(&upstream).contains("remember"));
    }
    let (status, body) = server
        .call(
            Method::POST,
            "/api/chat/memories",
            json!({"userId": "m2", "content": "likes jazz music"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = chat(&server, json!({"message": "which music", "userId": "m2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let system = last_system_prompt(&upstream);
    assert!(system.contains("likes jazz music"), "{system}");
    server.stop().await;
}
