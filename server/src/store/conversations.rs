//! Conversations and their messages. A turn (the user's message and everything up to the final
//! answer) is written in one transaction, so a conversation only ever holds complete turns.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::memories::{self, MemoryRecord, memory_scope};
use super::{Store, StoreError, backoff, present_fields, retryable};

/// Attempts at storing a turn that meets concurrent turns of its conversation.
const TURN_RETRIES: usize = 50;

/// One stored message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageRecord {
    /// Position in the conversation, from 0.
    pub seq: u64,
    /// `user`, `assistant` or `tool`.
    pub role: String,
    pub content: String,
    /// Assistant: `[{id, name, arguments}]`.
    #[serde(default)]
    pub tool_calls: Vec<Value>,
    pub tool_call_id: Option<String>,
    /// Tool messages: the tool's name.
    pub name: Option<String>,
    #[serde(default)]
    pub is_error: bool,
    /// Tool messages: the call's duration.
    pub duration_ms: Option<f64>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub channel: Option<String>,
    pub model: Option<String>,
    /// Unix milliseconds.
    pub timestamp: i64,
}

/// A conversation's summary row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConversationRecord {
    pub id: String,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub preset_id: Option<String>,
    pub message_count: u64,
    pub last_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One day of a user's chat activity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DayStats {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub messages: u64,
    pub tokens: u64,
    pub tool_calls: u64,
}

/// What a turn starts from, read in one round trip.
pub struct TurnContext {
    pub conversation: Option<ConversationRecord>,
    /// The last messages, oldest first.
    pub history: Vec<MessageRecord>,
    /// The memories asked for, or why the search failed (which costs the memories only).
    pub memories: Result<Vec<MemoryRecord>, StoreError>,
}

/// The memories a turn asks for: `limit` of this user (in this group), most relevant to `query`.
pub struct MemoryQuery<'a> {
    pub user_id: &'a str,
    pub group_id: Option<&'a str>,
    pub query: &'a str,
    pub limit: u32,
}

/// Whose chat activity: a user's, a group's, or a user's in a group (at least one is set).
#[derive(Debug, Clone, Copy)]
pub struct StatsScope<'a> {
    pub user_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
}

/// The answers of one channel and model over a period, and the tokens they used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelStats {
    pub channel: String,
    pub model: Option<String>,
    pub answers: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A finished turn to store.
pub struct Turn<'a> {
    pub conversation: &'a ConversationRecord,
    pub messages: &'a [MessageRecord],
}

const MESSAGE_FIELDS: &str = "seq, role, content, tool_calls, tool_call_id, name, is_error, \
                              duration_ms, prompt_tokens, completion_tokens, channel, model, timestamp";
const CONVERSATION_FIELDS: &str = "record::id(id) AS id, user_id, group_id, preset_id, \
                                   message_count, last_message, created_at, updated_at";

impl Store {
    pub async fn conversation(&self, id: &str) -> Result<Option<ConversationRecord>, StoreError> {
        let rows = self
            .rows(
                &format!("SELECT {CONVERSATION_FIELDS} FROM type::record('conversation', $id)"),
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// The conversation, its last `max_messages` messages and the memories asked for (`None`:
    /// none), in one round trip: the three reads before a turn's first LLM call.
    pub async fn turn_context(
        &self,
        id: &str,
        max_messages: u32,
        memories: Option<MemoryQuery<'_>>,
    ) -> Result<TurnContext, StoreError> {
        // The messages are read forwards from `message_count - limit`, and not at all for a
        // conversation that does not exist yet (the first turn of every chat). The backward
        // index scan this replaces (`ORDER BY seq DESC LIMIT`) was ~10 % of the server's CPU
        // under chat load (SurrealKV's memtable `seek_last` and its key comparisons): the
        // reads before the first LLM call went from ~0.81 to ~0.58 ms (BENCHMARKS.md).
        let mut sql = format!(
            "SELECT {CONVERSATION_FIELDS} FROM type::record('conversation', $id);
             LET $count = type::record('conversation', $id).message_count ?? 0;
             IF $count > 0 {{ RETURN SELECT {MESSAGE_FIELDS} FROM message \
                 WHERE conversation = $id AND seq >= $count - $limit ORDER BY seq LIMIT $limit }} \
             ELSE {{ RETURN [] }};"
        );
        let mut vars = json!({ "id": id, "limit": max_messages });
        // The memory search, unless the scope is known to hold none.
        let searched = memories
            .as_ref()
            .map(|wanted| (wanted, memory_scope(wanted.user_id, wanted.group_id)))
            .filter(|(_, scope)| {
                !(self.empty_scopes.as_deref()).is_some_and(|scopes| scopes.is_empty(scope))
            });
        if let Some((wanted, scope)) = &searched {
            let query = Some(wanted.query.trim()).filter(|q| !q.is_empty());
            // A full-text search costs ~0.5 ms even on an empty index; most users have no
            // memories, which the scope index tells far cheaper.
            sql.push_str(&format!(
                "LET $any = SELECT VALUE id FROM memory WHERE scope = $scope LIMIT 1;
                 RETURN $any;
                 IF array::len($any) > 0 {{ RETURN {} }} ELSE {{ RETURN [] }};",
                memories::search_statement(query.is_some())
            ));
            vars["scope"] = json!(scope);
            vars["query"] = json!(query);
            vars["memory_limit"] = json!(wanted.limit);
        }
        // Taken before the read: an answer older than an added memory marks nothing.
        let marker = (self.empty_scopes.as_deref()).map(|scopes| (scopes, scopes.version()));
        let mut results = self.statements(&sql, vars).await?;
        let conversation = results.next::<ConversationRecord>()?.into_iter().next();
        results.next::<Value>()?; // LET $count
        let history = results.next::<MessageRecord>()?;
        let memories = match searched {
            Some((_, scope)) => {
                // A failure here costs the memories only (as the search's own does).
                let _ = results.next::<Value>(); // LET $any
                let any = results.next::<Value>();
                if let (Some((scopes, version)), Ok(true)) =
                    (marker, any.as_ref().map(Vec::is_empty))
                {
                    scopes.mark_empty(&scope, version);
                }
                results.next::<MemoryRecord>()
            }
            None => Ok(Vec::new()),
        };
        Ok(TurnContext {
            conversation,
            history,
            memories,
        })
    }

    /// The last `limit` messages, oldest first.
    pub async fn last_messages(
        &self,
        id: &str,
        limit: u32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut rows: Vec<MessageRecord> = self
            .rows(
                &format!(
                    "SELECT {MESSAGE_FIELDS} FROM message WHERE conversation = $id \
                     ORDER BY seq DESC LIMIT $limit"
                ),
                json!({ "id": id, "limit": limit }),
                0,
            )
            .await?;
        rows.reverse();
        Ok(rows)
    }

    /// Writes a turn: its messages and the conversation's new summary, all or nothing. The
    /// messages are numbered after the ones stored when the turn began; if another turn of the
    /// same conversation was stored meanwhile (on another instance: within one, turns of a
    /// conversation run one at a time), this turn is numbered after it instead, so the history
    /// stays one sequence in the order the turns were stored.
    pub async fn append_turn(&self, turn: Turn<'_>) -> Result<(), StoreError> {
        let conversation = turn.conversation;
        let count = turn.messages.len() as u64;
        let mut base = conversation.message_count.saturating_sub(count);
        let mut created_at = conversation.created_at;
        for attempt in 0..TURN_RETRIES {
            let rows: Vec<Value> = turn
                .messages
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    let mut row = present_fields(serde_json::to_value(message)?);
                    row["seq"] = json!(base + i as u64);
                    row["conversation"] = json!(conversation.id);
                    // Whose turn it was (a group conversation has many users): usage and
                    // stats are counted per user and group.
                    row["user_id"] = json!(conversation.user_id);
                    if let Some(group) = &conversation.group_id {
                        row["group_id"] = json!(group);
                    }
                    Ok(row)
                })
                .collect::<Result<_, serde_json::Error>>()?;
            let mut summary = present_fields(serde_json::to_value(conversation)?);
            if let Value::Object(map) = &mut summary {
                map.remove("id");
                map.insert("message_count".into(), json!(base + count));
                map.insert("created_at".into(), json!(created_at));
            }
            let outcome = self
                .transaction(
                    "BEGIN TRANSACTION;
                     LET $c = type::record('conversation', $id);
                     LET $stored = $c.message_count ?? 0;
                     IF $stored != $base { THROW 'conversation moved on' };
                     UPSERT type::record('conversation', $id) CONTENT $summary;
                     INSERT INTO message $rows;
                     COMMIT TRANSACTION;",
                    json!({ "id": conversation.id, "base": base, "summary": summary, "rows": rows }),
                )
                .await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(message) if message.contains("conversation moved on") => {
                    let now = self.conversation(&conversation.id).await?;
                    base = now.as_ref().map_or(0, |c| c.message_count);
                    created_at = now.map_or(created_at, |c| c.created_at);
                }
                Err(message) if retryable(&message) => backoff(attempt).await,
                Err(message) => return Err(StoreError::Transaction(message)),
            }
        }
        Err(StoreError::Transaction(
            "a turn kept meeting concurrent turns of its conversation".into(),
        ))
    }

    /// Newest first (by `updated_at`, then id), after `after` (`(updated_at, id)` of the last
    /// one of the previous page).
    pub async fn conversations(
        &self,
        user_id: Option<&str>,
        group_id: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let mut conditions = Vec::new();
        if after.is_some() {
            conditions.push(
                "(updated_at < $after_at OR (updated_at = $after_at AND record::id(id) < $after_id))",
            );
        }
        if user_id.is_some() {
            conditions.push("user_id = $user_id");
        }
        if group_id.is_some() {
            conditions.push("group_id = $group_id");
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        self.rows(
            &format!(
                "SELECT {CONVERSATION_FIELDS} FROM conversation {filter} \
                 ORDER BY updated_at DESC, id DESC LIMIT $limit"
            ),
            json!({ "user_id": user_id, "group_id": group_id, "limit": limit,
                    "after_at": after.map(|(at, _)| at), "after_id": after.map(|(_, id)| id) }),
            0,
        )
        .await
    }

    /// `false`: there was none.
    pub async fn delete_conversation(&self, id: &str) -> Result<bool, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('conversation', $id) RETURN BEFORE;
                 DELETE message WHERE conversation = $id;",
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Deletes a conversation's messages (keeping nothing of it); how many.
    pub async fn clear_conversation(&self, id: &str) -> Result<usize, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE message WHERE conversation = $id RETURN BEFORE;
                 DELETE type::record('conversation', $id);",
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(rows.len())
    }

    /// Every conversation and message; how many conversations.
    pub async fn delete_all_conversations(&self) -> Result<usize, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE conversation RETURN BEFORE; DELETE message;",
                json!({}),
                0,
            )
            .await?;
        Ok(rows.len())
    }

    /// Chat activity since `since` (Unix ms) of the turns of one user, one group, or one user
    /// in one group: per day, and per channel and model (the answers' usage), in one round trip.
    pub async fn chat_stats(
        &self,
        scope: StatsScope<'_>,
        since: i64,
    ) -> Result<(Vec<DayStats>, Vec<ModelStats>), StoreError> {
        let mut condition = String::from("timestamp >= $since");
        if scope.user_id.is_some() {
            condition.push_str(" AND user_id = $user_id");
        }
        if scope.group_id.is_some() {
            condition.push_str(" AND group_id = $group_id");
        }
        let sql = format!(
            "SELECT day, count() AS messages, math::sum(tokens) AS tokens, \
                    math::sum(calls) AS tool_calls \
             FROM (SELECT math::floor(timestamp / 86400000) AS day, \
                          (prompt_tokens ?? 0) + (completion_tokens ?? 0) AS tokens, \
                          (IF role = 'tool' THEN 1 ELSE 0 END) AS calls \
                   FROM message WHERE {condition}) \
             GROUP BY day ORDER BY day;
             SELECT channel, model, count() AS answers, \
                    math::sum(prompt_tokens ?? 0) AS prompt_tokens, \
                    math::sum(completion_tokens ?? 0) AS completion_tokens \
             FROM message WHERE {condition} AND role = 'assistant' AND channel != NONE \
             GROUP BY channel, model ORDER BY channel, model;"
        );
        let vars = json!({ "user_id": scope.user_id, "group_id": scope.group_id, "since": since });
        let mut results = self.statements(&sql, vars).await?;
        Ok((results.next()?, results.next()?))
    }
}
