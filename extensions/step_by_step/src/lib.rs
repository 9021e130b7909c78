//! `step_by_step`: a skill that answers a question in steps. The LLM first plans which of the
//! calculator, time and unit tools to call (a JSON plan); the skill runs them as its caller and
//! hands the results back to the LLM for the final answer.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::skill::{Message, call_tool, complete};
use chatai_sdk::{Context, Output, Skill, ToolError, export_skill, host};
use serde::Deserialize;
use serde_json::{Value, json};

/// The tools a plan may use.
const TOOLS: &[&str] = &["calculator", "get_current_time", "unit_convert"];
/// The most steps a plan may have.
const MAX_STEPS: usize = 5;

const PLANNER: &str = "You plan how to answer a question with tools. Available tools: \
calculator {\"expression\": string} evaluates arithmetic; get_current_time {\"timezone\": IANA \
name, optional} tells the date and time; unit_convert {\"value\": number, \"from\": unit, \"to\": \
unit} converts units. Answer with JSON only: {\"steps\": [{\"tool\": name, \"args\": {...}}]} \
with at most 5 steps, or {\"steps\": []} when no tool is needed.";

const ANSWERER: &str = "Answer the user's question using the tool results given, briefly and \
exactly. Do not invent numbers the results do not contain.";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The question, e.g. "How many seconds are in 3.5 days?".
    pub question: String,
}

pub struct StepByStep;

impl Skill for StepByStep {
    const NAME: &'static str = "step_by_step";
    const DESCRIPTION: &'static str = "Answer a question step by step, computing with the \
        calculator, time and unit conversion tools";
    type Input = Input;

    fn run(input: Input, _ctx: &Context) -> Result<Output, ToolError> {
        if input.question.trim().is_empty() {
            return Err(ToolError::InvalidArgs("question is empty".into()));
        }
        let plan = complete(&[Message::system(PLANNER), Message::user(&input.question)])
            .map_err(|err| ToolError::Failed(format!("planning failed: {err}")))?;
        let steps = parse_plan(&plan);
        let total = u32::try_from(steps.len()).unwrap_or(u32::MAX);
        let mut done = Vec::new();
        for (i, (tool, args)) in steps.into_iter().enumerate() {
            host::progress(i as u32, Some(total), &format!("calling {tool}"));
            let outcome = match call_tool(&tool, &args) {
                Ok(result) => json!({ "tool": tool, "args": args, "result": result.text }),
                Err(err) => json!({ "tool": tool, "args": args, "error": err }),
            };
            done.push(outcome);
        }
        let results = if done.is_empty() {
            "No tools were needed.".to_owned()
        } else {
            done.iter()
                .map(|step| step.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let answer = complete(&[
            Message::system(ANSWERER),
            Message::user(format!(
                "Question: {}\n\nTool results:\n{results}",
                input.question
            )),
        ])
        .map_err(|err| ToolError::Failed(format!("answering failed: {err}")))?;
        Ok(Output::text(answer.clone())
            .with_structured(&json!({ "answer": answer, "steps": done })))
    }
}

/// The plan's `(tool, args)` steps: only the tools offered, at most [`MAX_STEPS`]. A plan that
/// is not JSON (a model that answered in prose) has no steps.
fn parse_plan(plan: &str) -> Vec<(String, Value)> {
    let text = plan.trim();
    let json = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => return Vec::new(),
    };
    let Ok(value) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    value["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|step| {
                    let tool = step["tool"].as_str()?;
                    TOOLS
                        .contains(&tool)
                        .then(|| (tool.to_owned(), step["args"].clone()))
                })
                .take(MAX_STEPS)
                .collect()
        })
        .unwrap_or_default()
}

export_skill!(StepByStep);
