//! `random`: dice, numbers, picks and UUIDs.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiceArgs {
    /// Dice notation `NdM`, e.g. `2d6` (1–100 dice of 2–1000 sides).
    notation: String,
}

/// Rolls dice.
pub struct RollDice;

impl Tool for RollDice {
    const NAME: &'static str = "roll_dice";
    const DESCRIPTION: &'static str =
        "Rolls dice in NdM notation (e.g. 2d6) and returns each roll and the total.";
    const CATEGORY: Option<&'static str> = Some("random");
    type Args = DiceArgs;

    fn call(args: DiceArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let invalid =
            || ToolError::InvalidArgs(format!("`{}` is not NdM dice notation", args.notation));
        let (count, sides) = args
            .notation
            .trim()
            .to_lowercase()
            .split_once('d')
            .map(|(n, m)| {
                let n = if n.is_empty() {
                    Ok(1)
                } else {
                    n.parse::<u32>()
                };
                (n, m.parse::<u32>())
            })
            .ok_or_else(invalid)?;
        let (count, sides) = (count.map_err(|_| invalid())?, sides.map_err(|_| invalid())?);
        if !(1..=100).contains(&count) || !(2..=1000).contains(&sides) {
            return Err(ToolError::InvalidArgs(
                "use 1–100 dice of 2–1000 sides".into(),
            ));
        }
        let mut rng = rand::rng();
        let rolls: Vec<u32> = (0..count).map(|_| rng.random_range(1..=sides)).collect();
        let total: u32 = rolls.iter().sum();
        Ok(Output::text(format!("{total} ({rolls:?})"))
            .with_structured(&serde_json::json!({ "rolls": rolls, "total": total })))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeArgs {
    min: i64,
    max: i64,
}

/// A random integer in a range.
pub struct RandomNumber;

impl Tool for RandomNumber {
    const NAME: &'static str = "random_number";
    const DESCRIPTION: &'static str = "A uniformly random integer between min and max (inclusive).";
    const CATEGORY: Option<&'static str> = Some("random");
    type Args = RangeArgs;

    fn call(args: RangeArgs, _ctx: &Context) -> Result<Output, ToolError> {
        if args.min > args.max {
            return Err(ToolError::InvalidArgs("min must not exceed max".into()));
        }
        let n = rand::rng().random_range(args.min..=args.max);
        Ok(Output::text(n.to_string()).with_structured(&serde_json::json!({ "value": n })))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PickArgs {
    /// The options to choose from.
    #[schemars(length(min = 1, max = 1000))]
    options: Vec<String>,
}

/// Picks one option at random.
pub struct Pick;

impl Tool for Pick {
    const NAME: &'static str = "pick";
    const DESCRIPTION: &'static str = "Picks one of the given options at random.";
    const CATEGORY: Option<&'static str> = Some("random");
    type Args = PickArgs;

    fn call(args: PickArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let choice = args
            .options
            .choose(&mut rand::rng())
            .ok_or_else(|| ToolError::InvalidArgs("options is empty".into()))?;
        Ok(Output::text(choice.clone()))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A random UUID.
pub struct Uuid;

impl Tool for Uuid {
    const NAME: &'static str = "uuid";
    const DESCRIPTION: &'static str = "A new random (version 4) UUID.";
    const CATEGORY: Option<&'static str> = Some("random");
    type Args = NoArgs;

    fn call(_args: NoArgs, _ctx: &Context) -> Result<Output, ToolError> {
        Ok(Output::text(uuid::Uuid::new_v4().to_string()))
    }
}

export_tools!(RollDice, RandomNumber, Pick, Uuid);
