//! `unit_convert`: converts between units of length, mass, volume, speed, data and temperature.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
use serde::Deserialize;

pub struct UnitConvert;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    value: f64,
    /// Unit symbol, e.g. `km`, `mi`, `kg`, `lb`, `l`, `gal`, `km/h`, `mph`, `MB`, `GiB`, `C`, `F`, `K`.
    from: String,
    /// Unit symbol of the same quantity.
    to: String,
}

/// (symbol, quantity, factor to the quantity's base unit).
const UNITS: &[(&str, &str, f64)] = &[
    ("mm", "length", 0.001),
    ("cm", "length", 0.01),
    ("m", "length", 1.0),
    ("km", "length", 1000.0),
    ("in", "length", 0.0254),
    ("ft", "length", 0.3048),
    ("yd", "length", 0.9144),
    ("mi", "length", 1609.344),
    ("mg", "mass", 1e-6),
    ("g", "mass", 0.001),
    ("kg", "mass", 1.0),
    ("t", "mass", 1000.0),
    ("oz", "mass", 0.028_349_523_125),
    ("lb", "mass", 0.453_592_37),
    ("ml", "volume", 0.001),
    ("l", "volume", 1.0),
    ("gal", "volume", 3.785_411_784),
    ("cup", "volume", 0.236_588_236_5),
    ("m/s", "speed", 1.0),
    ("km/h", "speed", 1.0 / 3.6),
    ("mph", "speed", 0.447_04),
    ("kn", "speed", 0.514_444),
    ("B", "data", 1.0),
    ("KB", "data", 1e3),
    ("MB", "data", 1e6),
    ("GB", "data", 1e9),
    ("TB", "data", 1e12),
    ("KiB", "data", 1024.0),
    ("MiB", "data", 1_048_576.0),
    ("GiB", "data", 1_073_741_824.0),
    ("TiB", "data", 1_099_511_627_776.0),
];

fn unit(symbol: &str) -> Option<(&'static str, f64)> {
    UNITS
        .iter()
        .find(|(s, _, _)| *s == symbol)
        .or_else(|| {
            UNITS
                .iter()
                .find(|(s, _, _)| s.eq_ignore_ascii_case(symbol))
        })
        .map(|(_, quantity, factor)| (*quantity, *factor))
}

/// Temperature to kelvin and back.
fn to_kelvin(value: f64, unit: &str) -> Option<f64> {
    match unit {
        "C" | "c" | "°C" => Some(value + 273.15),
        "F" | "f" | "°F" => Some((value - 32.0) * 5.0 / 9.0 + 273.15),
        "K" | "k" => Some(value),
        _ => None,
    }
}

fn from_kelvin(kelvin: f64, unit: &str) -> Option<f64> {
    match unit {
        "C" | "c" | "°C" => Some(kelvin - 273.15),
        "F" | "f" | "°F" => Some((kelvin - 273.15) * 9.0 / 5.0 + 32.0),
        "K" | "k" => Some(kelvin),
        _ => None,
    }
}

fn convert(value: f64, from: &str, to: &str) -> Result<f64, ToolError> {
    if let (Some(kelvin), true) = (to_kelvin(value, from), from_kelvin(0.0, to).is_some()) {
        if kelvin < 0.0 {
            return Err(ToolError::InvalidArgs("below absolute zero".into()));
        }
        return from_kelvin(kelvin, to)
            .ok_or_else(|| ToolError::InvalidArgs(format!("unknown unit `{to}`")));
    }
    let (from_quantity, from_factor) =
        unit(from).ok_or_else(|| ToolError::InvalidArgs(format!("unknown unit `{from}`")))?;
    let (to_quantity, to_factor) =
        unit(to).ok_or_else(|| ToolError::InvalidArgs(format!("unknown unit `{to}`")))?;
    if from_quantity != to_quantity {
        return Err(ToolError::InvalidArgs(format!(
            "cannot convert {from_quantity} ({from}) to {to_quantity} ({to})"
        )));
    }
    Ok(value * from_factor / to_factor)
}

impl Tool for UnitConvert {
    const NAME: &'static str = "unit_convert";
    const DESCRIPTION: &'static str =
        "Converts a value between units of length, mass, volume, speed, data size or temperature.";
    const CATEGORY: Option<&'static str> = Some("math");
    type Args = Args;

    fn call(args: Args, _ctx: &Context) -> Result<Output, ToolError> {
        if !args.value.is_finite() {
            return Err(ToolError::InvalidArgs(
                "value must be a finite number".into(),
            ));
        }
        let result = convert(args.value, args.from.trim(), args.to.trim())?;
        let rounded = (result * 1e9).round() / 1e9;
        Ok(Output::text(format!(
            "{} {} = {rounded} {}",
            args.value, args.from, args.to
        ))
        .with_structured(&serde_json::json!({ "value": rounded, "unit": args.to })))
    }
}

export_tools!(UnitConvert);
