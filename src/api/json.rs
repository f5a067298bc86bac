//! The JSON body extractor of every handler. It reads like `web::Json` (and utoipa infers
//! the request body from it the same way, by its name), with one difference that matters
//! to clients: when a value cannot be read, the answer names the field at fault, as a
//! dotted path (`target.per_entrant.<id>`, `sales[3].sold_at`), both in `detail` and in
//! `errors`, instead of a line and column.
//!
//! Order of checks: the media type (415), the size (413, the app's `PayloadConfig`), then
//! the value (400 `invalid_body`).

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The request's media type without parameters, lower-cased (`text/csv` for
/// `Text/CSV; charset=utf-8`); empty when there is none. The endpoints that take more than
/// JSON (sales as CSV, rule sources as plain text) dispatch on it.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `application/json`, or any `+json` type.
pub fn is_json(req: &HttpRequest) -> bool {
    let essence = media_type(req);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether `text` holds no control character other than tab, line feed and carriage
/// return, and no bidirectional embedding, override or isolate (U+202A–U+202E,
/// U+2066–U+2069). NUL cannot be stored in a PostgreSQL text column and the other controls
/// have no business in names, notes or scripts; a bidirectional override shows a name, or
/// a line of a script, in another order than the one stored ("Trojan Source"). Every text
/// the API takes, whatever its media type, is refused with 422 `control_character` on the
/// field when this is false, which keeps the two backends alike and the stored text
/// printable. Marks (U+200E, U+200F) and joiners stay: right-to-left names and several
/// scripts need them. What is rendered is neutralised again by
/// [`crate::rewards::certificate::escape`], for text stored before this rule.
pub fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || is_bidi_control(c))
}

/// The bidirectional embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What the 422 for a text that is not [`printable`] says.
pub const CONTROL_CHARACTER_MESSAGE: &str =
    "must not contain control characters (only tab, line feed and carriage return) or bidirectional overrides";

/// The 422 for a text that is not [`printable`].
pub fn control_character(field: &str) -> AppError {
    AppError::invalid_field(field, "control_character", CONTROL_CHARACTER_MESSAGE)
}

/// Reads `bytes` as a `T`, naming the field at fault on failure.
///
/// A number is read by its value, not its spelling: `3.0` is the integer 3, as JSON
/// Schema's `integer` (and so the OpenAPI document) says, while `3.5` where an integer is
/// expected is refused. Decimals are strings (see `scoring::exact`), which this does not
/// touch.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request("invalid_body", format!("the body cannot be read: {e}"))
    })?;
    // Every body of the API is an object; serde would also read a struct from an array
    // of its fields in order, which no client means.
    if !value.is_object() {
        return Err(AppError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    if let Some(field) = control_character_at(&value, &mut String::new()) {
        return Err(control_character(&field));
    }
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = strip_position(&e.into_inner().to_string());
        if path.is_empty() || path == "." {
            AppError::bad_request(
                "invalid_body",
                format!("the body cannot be read: {message}"),
            )
        } else {
            AppError::BadBody {
                detail: format!("the body cannot be read: {path}: {message}"),
                errors: vec![FieldError::new(path, "invalid", message)],
            }
        }
    })
}

/// The path of the first string (or object key) that is not [`printable`].
fn control_character_at(value: &serde_json::Value, path: &mut String) -> Option<String> {
    use serde_json::Value;
    let bad = |text: &str| !printable(text);
    match value {
        Value::String(text) if bad(text) => Some(path.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = control_character_at(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = if bad(key) {
                Some(path.clone())
            } else {
                control_character_at(item, path)
            };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

/// Replaces every float with no fractional part (within ±2^53, where floats are exact
/// integers) by the integer it is.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() <= EXACT {
                    // In range and integral: the conversion is exact.
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// serde_json ends its messages with "at line 1 column 42": the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                )
                .into());
            }
            let bytes = bytes
                .await
                .map_err(|e| AppError::PayloadTooLarge(format!("the body cannot be read: {e}")))?;
            Ok(Json(parse(&bytes)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::Exact;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        name: String,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        values: Vec<Exact>,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Form>(body.as_bytes()) {
            Err(AppError::BadBody { errors, .. }) => errors.first().map(|e| e.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn the_field_at_fault_is_named() {
        assert_eq!(field_of(r#"{"name": 3}"#).as_deref(), Some("name"));
        assert_eq!(
            field_of(r#"{"name": "x", "nested": {"values": ["1", 2.5]}}"#).as_deref(),
            Some("nested.values[1]")
        );
        assert!(matches!(
            parse::<Form>(b"{\"name\": "),
            Err(AppError::BadRequest { .. })
        ));
        assert!(parse::<Form>(br#"{"name": "x"}"#).is_ok());
    }

    #[test]
    fn control_characters_are_refused_by_field() {
        let refused = |body: &str| match parse::<serde_json::Value>(body.as_bytes()) {
            Err(AppError::Validation(errors)) => Some(errors[0].field.clone()),
            _ => None,
        };
        assert_eq!(refused(r#"{"name": "a\u0000b"}"#).as_deref(), Some("name"));
        assert_eq!(
            refused(r#"{"sales": [{"x": "ok"}, {"x": "\u001b[31m"}]}"#).as_deref(),
            Some("sales[1].x")
        );
        assert_eq!(refused(r#"{"source": "fn a() {\n\t1\r\n}"}"#), None);
        assert_eq!(refused(r#"{"name": "Crème brûlée — 5 €"}"#), None);
        // Trojan Source: an override or an isolate, anywhere.
        assert_eq!(
            refused(r#"{"name": "Ana \u202etxt.exe"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            refused(r#"{"source": "let a = 1; \u2066// x\u2069"}"#).as_deref(),
            Some("source")
        );
        // Right-to-left names keep their marks, and scripts their joiners.
        assert_eq!(
            refused(r#"{"name": "\u05e9\u05dc\u05d5\u05dd\u200f"}"#),
            None
        );
        assert_eq!(refused(r#"{"name": "\u0915\u094d\u200d\u0937"}"#), None);
    }

    #[test]
    fn an_integral_float_is_an_integer() {
        #[derive(Debug, serde::Deserialize)]
        struct Count {
            n: i64,
        }
        assert_eq!(
            parse::<Count>(br#"{"n": -6116.0}"#).map(|c| c.n).ok(),
            Some(-6116)
        );
        assert!(parse::<Count>(br#"{"n": 1.5}"#).is_err());
        assert!(parse::<Count>(br#"{"n": 1e300}"#).is_err());
    }
}
