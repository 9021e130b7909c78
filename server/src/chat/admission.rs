//! Whether a message gets an answer, before any turn starts: the group's settings (enabled,
//! trigger, blacklist and whitelist, preset/channel/model overrides) or, in a private chat, the
//! global trigger; then the daily usage limits, reserved in the database.

use super::{ChatError, ChatInput, ChatReply, ChatService, Sink};
use crate::groups::Effective;
use crate::groups::trigger::{self, Decision, Rule};
use crate::store::{LimitHit, UsageKey};

/// What [`ChatService::admit`] decided.
pub enum Admission {
    /// No answer, and why (`{skipped: true, reason}`).
    Skipped(&'static str),
    Admitted(Box<Admitted>),
}

/// A message that gets an answer, with what its group decided.
pub struct Admitted {
    /// The message as the turn sees it (the trigger prefix taken off; the group's preset,
    /// channel and model filled in where the request named none).
    pub(super) input: ChatInput,
    /// The settings of its group.
    pub(super) group: Option<Effective>,
    /// The usage counted for it, given back if the turn fails.
    reservation: Option<UsageKey>,
}

impl ChatService {
    /// Applies the trigger rules, the group's settings and the usage limits to a message.
    pub async fn admit(&self, mut input: ChatInput) -> Result<Admission, ChatError> {
        super::validate(&input)?;
        let config = self.config.current();
        let group = input.group_id.as_deref().map(|group| {
            self.groups
                .effective(group, &config, &self.presets.default_id())
        });
        let (rule, mentioned) = match &group {
            Some(group) => {
                if !group.enabled.value {
                    return Ok(Admission::Skipped("the bot is disabled in this group"));
                }
                let t = &group.trigger;
                let rule = Rule {
                    kind: t.kind.value,
                    prefix: &t.prefix.value,
                    keywords: &t.keywords.value,
                    random_rate: t.random_rate.value,
                };
                (rule, input.mentioned)
            }
            None => {
                let t = &config.trigger;
                let rule = Rule {
                    kind: t.kind,
                    prefix: &t.prefix,
                    keywords: &t.keywords,
                    random_rate: t.random_rate,
                };
                (rule, true)
            }
        };
        let roll = rand::random::<u8>() % 100;
        match trigger::decide(rule, &input.message, mentioned, roll) {
            Decision::Skip(reason) => return Ok(Admission::Skipped(reason)),
            Decision::Respond(message) => input.message = message,
        }
        let mut reservation = None;
        if let Some(group) = &group {
            let user = &input.user_id;
            if group.blacklist.value.contains(user) {
                return Err(ChatError::Blocked(format!(
                    "user `{user}` is on this group's blacklist"
                )));
            }
            if !group.whitelist.value.is_empty() && !group.whitelist.value.contains(user) {
                return Err(ChatError::Blocked(format!(
                    "user `{user}` is not on this group's whitelist"
                )));
            }
            if input.preset_id.is_none() && group.preset_id.source == "group" {
                input.preset_id = Some(group.preset_id.value.clone());
            }
            if input.channel.is_none() {
                input.channel.clone_from(&group.channel.value);
            }
            if input.model.is_none() && group.model.source == "group" {
                input.model.clone_from(&group.model.value);
            }
            self.preflight(&input)?;
            let limits = &group.usage_limit;
            let group_limit = Some(limits.daily_group_limit.value).filter(|n| *n > 0);
            let user_limit = Some(limits.daily_user_limit.value).filter(|n| *n > 0);
            if group_limit.is_some() || user_limit.is_some() {
                let key = UsageKey {
                    day: config.usage.today(),
                    group_id: input.group_id.clone().unwrap_or_default(),
                    user_id: user.clone(),
                };
                if let Some(hit) = self
                    .store
                    .reserve_usage(&key, group_limit, user_limit)
                    .await?
                {
                    return Err(ChatError::UsageLimit {
                        message: limits.limit_message.value.clone(),
                        limit: match hit {
                            LimitHit::Group => "group",
                            LimitHit::User => "user",
                        },
                    });
                }
                reservation = Some(key);
            }
        } else {
            self.preflight(&input)?;
        }
        Ok(Admission::Admitted(Box::new(Admitted {
            input,
            group,
            reservation,
        })))
    }

    /// Runs an admitted message's turn; a turn that fails gives its usage back.
    pub async fn run(
        &self,
        admitted: Box<Admitted>,
        sink: Option<Sink>,
    ) -> Result<ChatReply, ChatError> {
        let started = std::time::Instant::now();
        let result = self
            .turn(&admitted.input, admitted.group.as_ref(), sink)
            .await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::histogram!("chatai_chat_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        if result.is_err()
            && let Some(key) = &admitted.reservation
            && let Err(err) = self.store.release_usage(key).await
        {
            tracing::error!(error = %err, group = %key.group_id, "giving back a usage reservation failed");
        }
        result
    }
}
