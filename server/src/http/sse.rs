//! The one way an endpoint streams server-sent events: named events, JSON `data:`, a comment
//! heartbeat every 15 s, and the end of the stream when the client goes away.
//!
//! The stream is the response body: when the client disconnects, hyper drops the body, which
//! drops the bus subscription with it; the bus forgets a closed subscriber at its next publish.
//! No task is spawned, so none is left behind.

use std::convert::Infallible;
use std::time::Duration;

use futures_util::StreamExt;
use salvo::Response;
use salvo::sse::{SseEvent, SseKeepAlive};

use crate::events::{Event, Subscription};

/// Seconds between heartbeat comments.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Streams the events of `subscription` that `keep` accepts, as SSE named after the event.
pub fn stream_events<F>(res: &mut Response, subscription: Subscription, keep: F)
where
    F: Fn(&Event) -> bool + Send + Sync + 'static,
{
    let events = subscription
        .into_stream()
        .filter(move |event| std::future::ready(keep(event)))
        .map(|event| Ok::<_, Infallible>(sse_of(&event)));
    SseKeepAlive::new(events)
        .max_interval(HEARTBEAT)
        .comment("heartbeat")
        .stream(res);
}

/// Streams the events of `subscription` that `name_of` names, under that name.
pub fn stream_named<F>(res: &mut Response, subscription: Subscription, name_of: F)
where
    F: Fn(&Event) -> Option<&'static str> + Send + Sync + 'static,
{
    let events = subscription.into_stream().filter_map(move |event| {
        let named = name_of(&event).map(|name| Ok::<_, Infallible>(sse_named(&event, name)));
        std::future::ready(named)
    });
    SseKeepAlive::new(events)
        .max_interval(HEARTBEAT)
        .comment("heartbeat")
        .stream(res);
}

fn sse_of(event: &Event) -> SseEvent {
    sse_named(event, event.name())
}

fn sse_named(event: &Event, name: &str) -> SseEvent {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "null".into());
    SseEvent::default().name(name).text(data)
}
