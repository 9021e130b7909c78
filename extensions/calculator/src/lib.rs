//! `calculator`: evaluates arithmetic safely (no variables, no side effects).

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
use evalexpr::{DefaultNumericTypes, Value};
use serde::Deserialize;

pub struct Calculator;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// An arithmetic expression, e.g. `(2 + 3) * 4 / 5` or `math::sqrt(2) ^ 2`.
    #[schemars(length(min = 1, max = 1000))]
    expression: String,
}

impl Tool for Calculator {
    const NAME: &'static str = "calculator";
    const DESCRIPTION: &'static str = "Evaluates an arithmetic expression: + - * / % ^, parentheses, \
         and math:: functions such as math::sqrt, math::sin, math::ln.";
    const CATEGORY: Option<&'static str> = Some("math");
    type Args = Args;

    fn call(args: Args, _ctx: &Context) -> Result<Output, ToolError> {
        let value: Value<DefaultNumericTypes> = evalexpr::eval(&args.expression)
            .map_err(|err| ToolError::InvalidArgs(format!("cannot evaluate: {err}")))?;
        let number = match value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            Value::Boolean(b) => return Ok(Output::text(b.to_string())),
            other => {
                return Err(ToolError::InvalidArgs(format!(
                    "not an arithmetic result: {other}"
                )));
            }
        };
        if !number.is_finite() {
            return Err(ToolError::Failed(
                "the result is not a finite number".into(),
            ));
        }
        let text = if number.fract() == 0.0 && number.abs() < 1e15 {
            format!("{}", number as i64)
        } else {
            format!("{number}")
        };
        Ok(Output::text(text).with_structured(&serde_json::json!({ "result": number })))
    }
}

export_tools!(Calculator);
