//! When the bot answers a message: the trigger rules.
//!
//! - `at`: when the bot is mentioned;
//! - `prefix`: when the message starts with the prefix (which is taken off the message);
//! - `both`: either;
//! - `random`: when mentioned, else with a chance of `randomRate` percent;
//! - whatever the type, a message containing one of the keywords (case-insensitive).
//!
//! A private message (no group) follows the global trigger config and counts as mentioning the
//! bot: it is addressed to it.

use crate::config::TriggerType;

/// The rules in force.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    pub kind: TriggerType,
    pub prefix: &'a str,
    pub keywords: &'a [String],
    /// 0–100.
    pub random_rate: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer this message (the prefix taken off when it triggered).
    Respond(String),
    /// Stay silent, and why.
    Skip(&'static str),
}

/// Decides on `message`; `roll` is a random number in 0..100 (used by `random` only).
pub fn decide(rule: Rule<'_>, message: &str, mentioned: bool, roll: u8) -> Decision {
    let prefixed = (!rule.prefix.is_empty())
        .then(|| message.trim_start().strip_prefix(rule.prefix))
        .flatten()
        .map(|rest| rest.trim_start().to_owned());
    let lower = message.to_lowercase();
    let keyword = rule
        .keywords
        .iter()
        .any(|k| !k.is_empty() && lower.contains(&k.to_lowercase()));
    let answer =
        |text: Option<String>| Decision::Respond(text.unwrap_or_else(|| message.to_owned()));
    match rule.kind {
        TriggerType::At if mentioned => answer(None),
        TriggerType::Prefix | TriggerType::Both if prefixed.is_some() => answer(prefixed),
        TriggerType::Both if mentioned => answer(None),
        TriggerType::Random if mentioned || roll < rule.random_rate => answer(None),
        _ if keyword => answer(None),
        TriggerType::At => Decision::Skip("the bot was not mentioned"),
        TriggerType::Prefix => Decision::Skip("the message does not start with the prefix"),
        TriggerType::Both => {
            Decision::Skip("the bot was not mentioned and the message has no prefix")
        }
        TriggerType::Random => Decision::Skip("not mentioned, and the random roll said no"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type × (mentioned, prefix present, keyword present) × random rate 0/100, with the
    /// decision each must give (`true`: answer).
    #[test]
    fn each_trigger_type_answers_exactly_when_it_should() {
        use TriggerType::*;
        #[rustfmt::skip]
        let table: &[(TriggerType, bool, bool, bool, u8, bool)] = &[
            // type  mentioned prefix keyword rate  answers
            (At,     false, false, false, 0,   false),
            (At,     true,  false, false, 0,   true),
            (At,     false, true,  false, 0,   false),
            (At,     true,  true,  false, 0,   true),
            (At,     false, false, true,  0,   true),
            (At,     true,  false, true,  0,   true),
            (At,     false, true,  true,  0,   true),
            (At,     false, false, false, 100, false),
            (Prefix, false, false, false, 0,   false),
            (Prefix, true,  false, false, 0,   false),
            (Prefix, false, true,  false, 0,   true),
            (Prefix, true,  true,  false, 0,   true),
            (Prefix, false, false, true,  0,   true),
            (Prefix, true,  false, true,  0,   true),
            (Prefix, false, true,  true,  0,   true),
            (Prefix, false, false, false, 100, false),
            (Both,   false, false, false, 0,   false),
            (Both,   true,  false, false, 0,   true),
            (Both,   false, true,  false, 0,   true),
            (Both,   true,  true,  false, 0,   true),
            (Both,   false, false, true,  0,   true),
            (Both,   true,  false, true,  0,   true),
            (Both,   false, true,  true,  0,   true),
            (Both,   false, false, false, 100, false),
            (Random, false, false, false, 0,   false),
            (Random, true,  false, false, 0,   true),
            (Random, false, true,  false, 0,   false),
            (Random, true,  true,  false, 0,   true),
            (Random, false, false, true,  0,   true),
            (Random, true,  false, true,  0,   true),
            (Random, false, true,  true,  0,   true),
            (Random, false, false, false, 100, true),
            (Random, true,  false, false, 100, true),
            (Random, false, true,  false, 100, true),
            (Random, false, false, true,  100, true),
        ];
        let keywords = vec!["Weather".to_owned()];
        for &(kind, mentioned, prefix, keyword, rate, answers) in table {
            let rule = Rule {
                kind,
                prefix: "#ai",
                keywords: &keywords,
                random_rate: rate,
            };
            let mut message = String::from("hello");
            if keyword {
                message.push_str(" how is the weather");
            }
            if prefix {
                message = format!("#ai {message}");
            }
            // Every roll of a die, so `random` at 0 % and 100 % is never luck.
            for roll in 0..100 {
                let decision = decide(rule, &message, mentioned, roll);
                assert_eq!(
                    matches!(decision, Decision::Respond(_)),
                    answers,
                    "{kind:?} mentioned={mentioned} prefix={prefix} keyword={keyword} rate={rate}: {decision:?}"
                );
                if let Decision::Respond(text) = &decision
                    && prefix
                    && matches!(kind, Prefix | Both)
                {
                    assert!(!text.starts_with("#ai"), "the prefix is taken off: {text}");
                }
            }
        }
    }

    #[test]
    fn a_random_rate_answers_about_that_share() {
        let rule = Rule {
            kind: TriggerType::Random,
            prefix: "",
            keywords: &[],
            random_rate: 30,
        };
        let answered = (0..100)
            .filter(|roll| matches!(decide(rule, "hi", false, *roll), Decision::Respond(_)))
            .count();
        assert_eq!(answered, 30);
    }
}
