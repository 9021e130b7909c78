//! Tool schemas as Gemini accepts them. Gemini's `parameters` take a subset of OpenAPI 3.0's
//! schema object (`type`, `format`, `title`, `description`, `nullable`, `enum`, `items`,
//! `minItems`, `maxItems`, `properties`, `required`, `minProperties`, `maxProperties`,
//! `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `anyOf`, `propertyOrdering`,
//! `default`, `example`) and refuses a request with anything else (`$schema`,
//! `additionalProperties`, `$ref`, `const`, a type array, an unsupported `format`). We rewrite
//! what has an equivalent and drop the rest, so a tool that OpenAI accepts works with Gemini.

use serde_json::{Map, Value, json};

/// Keys kept as they are.
const KEPT: &[&str] = &[
    "title",
    "description",
    "nullable",
    "enum",
    "minItems",
    "maxItems",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "propertyOrdering",
    "default",
    "example",
];

/// `$ref`s followed at most this deep (a recursive schema is cut there).
const MAX_DEPTH: usize = 8;

/// The schema rewritten into Gemini's subset.
pub fn sanitize(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = node(schema, &defs, 0);
    // A tool's parameters must be an object schema.
    if out.get("type").is_none() {
        out["type"] = json!("object");
    }
    out
}

fn node(schema: &Value, defs: &Value, depth: usize) -> Value {
    let Some(object) = schema.as_object() else {
        return json!({});
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let target = reference.rsplit('/').next().and_then(|name| defs.get(name));
        return match target {
            Some(target) if depth < MAX_DEPTH => node(target, defs, depth + 1),
            _ => json!({"type": "object"}),
        };
    }
    let mut out = Map::new();
    for key in KEPT {
        if let Some(value) = object.get(*key) {
            out.insert((*key).to_owned(), value.clone());
        }
    }
    if let Some(constant) = object.get("const") {
        out.insert("enum".into(), json!([constant]));
    }
    let ty = match object.get("type") {
        Some(Value::String(ty)) => Some(ty.clone()),
        Some(Value::Array(types)) => {
            if types.iter().any(|t| t == "null") {
                out.insert("nullable".into(), json!(true));
            }
            types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .map(str::to_owned)
        }
        _ => None,
    };
    if let Some(ty) = &ty {
        out.insert("type".into(), json!(ty));
        if let Some(format) = object.get("format").and_then(Value::as_str)
            && format_allowed(ty, format)
        {
            out.insert("format".into(), json!(format));
        }
    }
    // Gemini's `enum` is for strings only.
    if let Some(values) = out.get("enum").and_then(Value::as_array) {
        if values.iter().all(Value::is_string) {
            if ty.is_none() {
                out.insert("type".into(), json!("string"));
            }
        } else {
            out.remove("enum");
        }
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        let properties: Map<String, Value> = properties
            .iter()
            .map(|(name, schema)| (name.clone(), node(schema, defs, depth)))
            .collect();
        // `required` may only name properties that exist.
        if let Some(required) = out.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|name| name.as_str().is_some_and(|n| properties.contains_key(n)));
        }
        out.insert("properties".into(), Value::Object(properties));
    } else {
        out.remove("required");
    }
    if let Some(items) = object.get("items") {
        out.insert("items".into(), node(items, defs, depth));
    }
    let alternatives = object.get("anyOf").or_else(|| object.get("oneOf"));
    if let Some(alternatives) = alternatives.and_then(Value::as_array) {
        let mut nullable = false;
        let kept: Vec<Value> = alternatives
            .iter()
            .filter(|alt| {
                let null = alt.get("type").and_then(Value::as_str) == Some("null");
                nullable |= null;
                !null
            })
            .map(|alt| node(alt, defs, depth))
            .collect();
        if nullable {
            out.insert("nullable".into(), json!(true));
        }
        match kept.len() {
            0 => {}
            // `Option<T>` in schemars: `anyOf: [T, null]` — just T, nullable.
            1 => {
                for (key, value) in kept
                    .into_iter()
                    .next()
                    .and_then(|v| match v {
                        Value::Object(map) => Some(map),
                        _ => None,
                    })
                    .unwrap_or_default()
                {
                    out.entry(key).or_insert(value);
                }
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }
    Value::Object(out)
}

/// The formats Gemini documents per type.
fn format_allowed(ty: &str, format: &str) -> bool {
    matches!(
        (ty, format),
        ("string", "enum" | "date-time")
            | ("number", "float" | "double")
            | ("integer", "int32" | "int64")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key of every schema node, recursively.
    fn keys(schema: &Value, out: &mut Vec<String>) {
        if let Some(object) = schema.as_object() {
            for (key, value) in object {
                out.push(key.clone());
                match key.as_str() {
                    "properties" => {
                        for child in value.as_object().into_iter().flat_map(|m| m.values()) {
                            keys(child, out);
                        }
                    }
                    "items" => keys(value, out),
                    "anyOf" => {
                        for child in value.as_array().into_iter().flatten() {
                            keys(child, out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn what_gemini_refuses_is_rewritten_or_dropped() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Args",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "the page"},
                "when": {"type": "string", "format": "date-time"},
                "count": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "mode": {"const": "fast"},
                "unit": {"$ref": "#/$defs/Unit"},
                "tags": {"type": "array", "items": {"type": "string", "format": "email"}},
                "maybe": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]},
            },
            "required": ["url", "ghost"],
            "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
        });
        let out = sanitize(&schema);
        let mut seen = Vec::new();
        keys(&out, &mut seen);
        for refused in [
            "$schema",
            "additionalProperties",
            "$ref",
            "$defs",
            "const",
            "oneOf",
        ] {
            assert!(
                !seen.iter().any(|k| k == refused),
                "{refused} left in {out}"
            );
        }
        assert_eq!(out["required"], json!(["url"]));
        assert!(out["properties"]["url"].get("format").is_none());
        assert_eq!(out["properties"]["when"]["format"], "date-time");
        assert_eq!(out["properties"]["count"]["type"], "integer");
        assert_eq!(out["properties"]["count"]["nullable"], true);
        assert!(out["properties"]["count"].get("format").is_none());
        assert_eq!(out["properties"]["mode"]["enum"], json!(["fast"]));
        assert_eq!(out["properties"]["unit"]["enum"], json!(["c", "f"]));
        assert_eq!(out["properties"]["maybe"]["nullable"], true);
        assert_eq!(out["properties"]["maybe"]["type"], "string");
        assert!(out["properties"]["tags"]["items"].get("format").is_none());
    }

    #[test]
    fn a_recursive_schema_ends() {
        let schema = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        });
        let out = sanitize(&schema);
        assert_eq!(out["properties"]["node"]["type"], "object");
    }
}
