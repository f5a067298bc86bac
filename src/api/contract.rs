//! The last pass over the OpenAPI document, on its JSON form: what utoipa cannot say from
//! the handlers' attributes, or says in a way client generators and validators trip on.
//!
//! Decisions:
//! - It works on `serde_json::Value`, and the document stays JSON from there (utoipa's
//!   model would drop `security: []`), so the served document and `podium openapi` are one
//!   value. Each step is a small function.
//! - Public operations (no `security` of their own) get `security: []`, saying so instead
//!   of leaving it to the reader; the document gets one relative server, `/`.
//! - Every operation with a JSON body may answer 413 and 415 (the JSON extractor's limits);
//!   every operation but `/healthz` reaches the database (the token check does), so may
//!   answer 503 `database_unavailable`. Every response carries `X-Request-Id`; every 201
//!   carries `Location` except the sale batch (many lines, no one resource).
//! - Every 2xx answer of a write (POST, PUT, PATCH, DELETE) carries `Podium-Change`, the
//!   change log position a reader names to read it back (`api::consistency`).
//! - `limit` and `offset` get the bounds [`PageRequest::parse`] enforces.
//! - `Page_X` lists `$ref` their item schema instead of an inlined copy.
//! - Unions of inline objects tagged by one property (serde's internally tagged enums)
//!   become `oneOf` of named components with a `discriminator`: each branch is hoisted
//!   as `<Union><Tag>` (e.g. `ObjectiveUnitsSold`). Unions of `allOf [ $ref, {tag} ]`
//!   (newtype variants, the token request) have the tag merged into the referenced
//!   object, so that each branch is one complete object whose `additionalProperties:
//!   false` does not refuse the tag.
//! - Free-form objects (`type: object` with nothing else) say `additionalProperties: {}`
//!   so generators type them as a map of any JSON value.
//! - Every 201 of a create links to the read of what it created (`links`).
//! - In schemas only answers use, a nullable property is always sent (as `null`), so it is
//!   `required`; the few fields serde skips when empty are listed in [`MAY_BE_ABSENT`].
//!   Request bodies keep optional fields optional.
//!
//! [`PageRequest::parse`]: crate::api::pagination::PageRequest::parse

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::api::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

/// Properties of answer schemas that serde leaves out when empty
/// (`skip_serializing_if`): they stay optional.
pub const MAY_BE_ABSENT: &[(&str, &str)] = &[
    ("PlacingDto", "detail"),
    ("StandingLineDto", "detail"),
    ("StandingLineDto", "explanation"),
    ("Problem", "errors"),
    ("Problem", "script_errors"),
    ("NewsDetails", "rank"),
    ("NewsDetails", "score"),
    ("NewsDetails", "raw_value"),
    ("NewsDetails", "progress_percent"),
    ("NewsDetails", "starts_at"),
    ("NewsDetails", "ends_at"),
    ("NewsDetails", "reward_id"),
    ("NewsDetails", "reward_name"),
    ("NewsDetails", "quantity"),
];

/// Operations that never reach the database.
const WITHOUT_DATABASE: &[&str] = &["healthz"];

/// 201 answers that create no single object, so name none in `Location`.
const CREATED_WITHOUT_LOCATION: &[&str] = &["record_sales"];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Applies every step to the document. The result stays JSON: utoipa's model drops some of
/// it (an empty `security` list).
pub fn finish(doc: &utoipa::openapi::OpenApi) -> Value {
    // utoipa's model is plain data; serialising it cannot fail.
    let mut value = serde_json::to_value(doc).unwrap_or(Value::Null);
    finish_value(&mut value);
    value
}

/// Writes the document as pretty JSON and a newline. A reader that stopped reading (a
/// closed pipe, `podium openapi | head`) is not an error: the rest is not wanted.
pub fn print(doc: &Value, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let written = serde_json::to_writer_pretty(&mut *out, doc)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The steps, on the JSON form.
pub fn finish_value(doc: &mut Value) {
    doc["servers"] = json!([{"url": "/", "description": "The server that serves this document"}]);
    page_items_by_reference(doc);
    discriminate_unions(doc);
    free_form_objects(doc);
    always_sent_is_required(doc);
    operations(doc);
    write_changes(doc);
    printable_strings(doc);
    links(doc);
    webhooks(doc);
}

/// What [`crate::api::json::printable`] accepts, as a JSON Schema pattern: no control
/// character (Unicode `Cc`) but tab, line feed and carriage return, and no bidirectional
/// embedding, override or isolate.
pub const PRINTABLE: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

/// Every free text a request may carry (a string without a format, an enumeration or a
/// pattern of its own, in a request body's schema or in a component one reaches) gets the
/// [`PRINTABLE`] pattern: the server refuses control characters with 422, and the document
/// says so where a generator can read it.
fn printable_strings(doc: &mut Value) {
    fn constrain(node: &mut Value) {
        let Some(object) = node.as_object_mut() else {
            return;
        };
        if object.contains_key("$ref") {
            return;
        }
        let is_string = match object.get("type") {
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        let constrained = ["format", "enum", "pattern", "const", "contentEncoding"]
            .iter()
            .any(|key| object.contains_key(*key));
        if is_string && !constrained {
            object.insert("pattern".into(), json!(PRINTABLE));
        }
        for key in ["items", "additionalProperties", "not"] {
            if let Some(child) = object.get_mut(key) {
                constrain(child);
            }
        }
        for key in ["oneOf", "anyOf", "allOf", "prefixItems"] {
            if let Some(Value::Array(branches)) = object.get_mut(key) {
                branches.iter_mut().for_each(constrain);
            }
        }
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            properties.values_mut().for_each(constrain);
        }
    }
    let mut roots = BTreeSet::new();
    for operation in operations_mut(doc) {
        if let Some(content) = operation
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut)
        {
            for media in content.values_mut() {
                if let Some(schema) = media.get_mut("schema") {
                    references(schema, &mut roots);
                    constrain(schema);
                }
            }
        }
    }
    let Some(schemas) = schemas_mut(doc) else {
        return;
    };
    for name in reachable(schemas, roots) {
        if let Some(schema) = schemas.get_mut(&name) {
            constrain(schema);
        }
    }
}

/// The OpenAPI 3.1 `webhooks` section: one entry per news kind, each a `POST` of a
/// `WebhookPayload` with the signature headers, so that partners can generate receiver
/// types. What a receiver answers decides delivery: any 2xx delivers; anything else, or
/// no answer, is tried again.
fn webhooks(doc: &mut Value) {
    let header = |name: &str, description: &str, example: &str| {
        json!({
            "name": name, "in": "header", "required": true, "description": description,
            "schema": {"type": "string"}, "example": example,
        })
    };
    let parameters = json!([
        header("Podium-Event", "The news kind, as `kind` in the body.", "leader_changed"),
        header(
            "Podium-Delivery",
            "The delivery id, the same on every attempt and replay: deduplicate on it.",
            "0192f0c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"
        ),
        header("Podium-Timestamp", "When this attempt was signed, in Unix seconds.", "1764600000"),
        header(
            "Podium-Signature",
            "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the subscription's secret>`: check it, and refuse old timestamps.",
            "t=1764600000,v1=5f2b…"
        ),
    ]);
    let mut hooks = Map::new();
    for kind in crate::news::Kind::ALL {
        hooks.insert(
            kind.as_str().to_owned(),
            json!({"post": {
                "operationId": format!("webhook_{}", kind.as_str()),
                "summary": format!("News of kind `{}`, pushed to a subscribed URL", kind.as_str()),
                "tags": ["webhooks"],
                "security": [],
                "parameters": parameters,
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/WebhookPayload"}
                }}},
                "responses": {
                    "2XX": {"description": "Delivered"},
                    "4XX": {"description": "Not delivered: tried again later, up to the last attempt"},
                    "5XX": {"description": "Not delivered: tried again later, up to the last attempt"}
                }
            }}),
        );
    }
    doc["webhooks"] = Value::Object(hooks);
}

/// Where the created object's fields are in a 201 body: `/` when the body is the object
/// (it has an `id`), `/<property>/` when it wraps it (a webhook with its secret).
fn field_pointer(schemas: &Value, schema: &Value) -> Option<String> {
    let resolve = |schema: &Value| -> Option<Value> {
        let name = schema
            .get("$ref")?
            .as_str()?
            .strip_prefix("#/components/schemas/")?;
        schemas.get(name).cloned()
    };
    let body = resolve(schema)?;
    let properties = body.get("properties")?.as_object()?;
    if properties.contains_key("id") || properties.contains_key("version") {
        return Some("/".into());
    }
    properties.iter().find_map(|(name, property)| {
        let inner = resolve(property)?;
        inner.pointer("/properties/id").map(|_| format!("/{name}/"))
    })
}

/// A create answers 201 with the object; its `id` reads it back at `<path>/{id}`. Each
/// such 201 gets a link to that read, so stateful testers reach real objects.
fn links(doc: &mut Value) {
    let schemas = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let reads: BTreeMap<String, String> = paths
        .iter()
        .filter_map(|(path, item)| {
            let id = item.pointer("/get/operationId")?.as_str()?;
            Some((path.clone(), id.to_owned()))
        })
        .collect();
    for (path, item) in paths.iter_mut() {
        let Some(pointer) = item
            .pointer("/post/responses/201/content/application~1json/schema")
            .and_then(|schema| field_pointer(&schemas, schema))
        else {
            continue;
        };
        // `/rules/{id}/versions` reads back at `/rules/{id}/versions/{version}`.
        let (read, parameter, field) = match reads.get(&format!("{path}/{{id}}")) {
            Some(read) => (read, "id", format!("{pointer}id")),
            None => match reads.get(&format!("{path}/{{version}}")) {
                Some(read) => (read, "version", format!("{pointer}version")),
                None => continue,
            },
        };
        let Some(created) = item
            .pointer_mut("/post/responses/201")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let mut parameters = Map::new();
        parameters.insert(
            parameter.to_owned(),
            json!(format!("$response.body#{field}")),
        );
        if parameter == "version" {
            parameters.insert("id".into(), json!("$request.path.id"));
        }
        created.insert(
            "links".into(),
            json!({ read.clone(): {
                "operationId": read,
                "parameters": parameters,
                "description": "Reads the created object back."
            }}),
        );
    }
}

fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(|(_, operation)| operation.as_object_mut())
        })
}

/// `Podium-Change` on every successful answer of a write (`api::consistency::stamp_writes`).
fn write_changes(doc: &mut Value) {
    let change = json!({
        "description": "The change log's position at or after this write: send it as `Podium-Min-Change` to read the write back in live standings, on any instance.",
        "schema": {"type": "integer", "format": "int64", "minimum": 0}
    });
    let writes = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| ["post", "put", "patch", "delete"].contains(&method.as_str()))
                .filter_map(|(_, operation)| operation.get_mut("responses")?.as_object_mut())
        });
    for responses in writes {
        for (_, response) in responses
            .iter_mut()
            .filter(|(status, _)| status.starts_with('2'))
        {
            if response.get("$ref").is_some() {
                continue;
            }
            if let Some(headers) = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
            {
                headers.insert("Podium-Change".into(), change.clone());
            }
        }
    }
}

fn response_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

fn operations(doc: &mut Value) {
    let request_id = json!({
        "description": "The request's id, as logged; quote it when reporting a problem.",
        "schema": {"type": "string"}
    });
    let location = json!({
        "description": "The path of the created object.",
        "schema": {"type": "string", "format": "uri-reference"}
    });
    for operation in operations_mut(doc) {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let secured = operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        if !secured {
            operation.insert("security".into(), json!([]));
        }
        let json_body = operation
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .is_some_and(|c| c.contains_key("application/json"));
        // An optional body (`request_body = Option<T>`) is "not required", not "may be
        // null": a `null` body is refused like any body that is not an object.
        for media in operation
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|c| c.values_mut())
        {
            let unwrapped = media.get("schema").and_then(|schema| {
                let branches = schema.get("oneOf")?.as_array()?;
                match branches.as_slice() {
                    [inner, null] if null == &json!({"type": "null"}) => Some(inner.clone()),
                    _ => None,
                }
            });
            if let (Some(inner), Some(media)) = (unwrapped, media.as_object_mut()) {
                media.insert("schema".into(), inner);
            }
        }
        for parameter in operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            bound_page_parameter(parameter);
        }
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if json_body {
            responses
                .entry("413")
                .or_insert_with(|| response_ref("PayloadTooLarge"));
            responses
                .entry("415")
                .or_insert_with(|| response_ref("UnsupportedMediaType"));
            // Any text of a JSON body may hold a control character (`api::json::printable`).
            responses
                .entry("422")
                .or_insert_with(|| response_ref("ValidationFailed"));
        }
        if !WITHOUT_DATABASE.contains(&id.as_str()) {
            responses
                .entry("503")
                .or_insert_with(|| response_ref("Unavailable"));
        }
        for (status, response) in responses.iter_mut() {
            // Shared responses get the header in `components.responses`.
            if response.get("$ref").is_some() {
                continue;
            }
            let headers = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})));
            if let Some(headers) = headers.and_then(Value::as_object_mut) {
                headers.insert("X-Request-Id".into(), request_id.clone());
                if status == "201" && !CREATED_WITHOUT_LOCATION.contains(&id.as_str()) {
                    headers.insert("Location".into(), location.clone());
                }
            }
        }
    }
    if let Some(shared) = doc
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    {
        for response in shared.values_mut().filter_map(Value::as_object_mut) {
            if let Some(headers) = response
                .entry("headers")
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                headers.insert("X-Request-Id".into(), request_id.clone());
            }
        }
    }
}

fn bound_page_parameter(parameter: &mut Value) {
    if parameter.get("in").and_then(Value::as_str) != Some("query") {
        return;
    }
    let bounds = match parameter.get("name").and_then(Value::as_str) {
        Some("limit") => json!({"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        Some("offset") => json!({"minimum": 0, "default": 0}),
        _ => return,
    };
    if let (Some(schema), Some(bounds)) = (
        parameter.get_mut("schema").and_then(Value::as_object_mut),
        bounds.as_object(),
    ) {
        // `Option<i64>` is documented as `["integer", "null"]`; a query value is never null.
        schema.insert("type".into(), json!("integer"));
        schema.extend(bounds.clone());
    }
}

fn schemas_mut(doc: &mut Value) -> Option<&mut Map<String, Value>> {
    doc.pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
}

fn page_items_by_reference(doc: &mut Value) {
    let Some(schemas) = schemas_mut(doc) else {
        return;
    };
    let names: BTreeSet<String> = schemas.keys().cloned().collect();
    for (name, schema) in schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if names.contains(item) {
            if let Some(items) = schema.pointer_mut("/properties/items/items") {
                *items = json!({"$ref": format!("#/components/schemas/{item}")});
            }
        }
    }
}

/// `snake_case` or `kebab-case` to `PascalCase`.
fn pascal(value: &str) -> String {
    value
        .split(['_', '-', ' '])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The property a branch is tagged by, and its value: a required property whose schema
/// is a one-value string enum.
fn tag_of(branch: &Value) -> Option<(String, String)> {
    let required = branch.get("required")?.as_array()?;
    branch
        .get("properties")?
        .as_object()?
        .iter()
        .find_map(|(property, schema)| {
            let values = schema.get("enum")?.as_array()?;
            match values.as_slice() {
                [Value::String(value)] if required.iter().any(|r| r == property) => {
                    Some((property.clone(), value.clone()))
                }
                _ => None,
            }
        })
}

fn discriminate_unions(doc: &mut Value) {
    let Some(schemas) = schemas_mut(doc) else {
        return;
    };
    let names: Vec<String> = schemas.keys().cloned().collect();
    for name in names {
        let Some(branches) = schemas
            .get(&name)
            .and_then(|s| s.get("oneOf"))
            .and_then(Value::as_array)
            .cloned()
        else {
            continue;
        };
        let mut hoisted = Vec::new();
        let mut merged = Vec::new();
        let mut property = None;
        for branch in &branches {
            // A newtype variant: `allOf [ $ref X, { tag } ]`.
            let parts = branch.get("allOf").and_then(Value::as_array);
            let (tag, target) = match parts.map(Vec::as_slice) {
                Some([reference, tag_part]) => match (
                    reference.get("$ref").and_then(Value::as_str),
                    tag_of(tag_part),
                ) {
                    (Some(target), Some(tag)) => (tag, Some((target.to_owned(), tag_part.clone()))),
                    _ => break,
                },
                _ => match tag_of(branch) {
                    Some(tag) => (tag, None),
                    None => break,
                },
            };
            if property.get_or_insert_with(|| tag.0.clone()) != &tag.0 {
                break;
            }
            match target {
                Some((reference, tag_part)) => merged.push((tag.1, reference, tag_part, branch)),
                None => hoisted.push((tag.1, branch)),
            }
        }
        let Some(property) = property else { continue };
        if hoisted.len() + merged.len() != branches.len()
            || !(hoisted.is_empty() || merged.is_empty())
        {
            continue;
        }
        let mut mapping = Map::new();
        let mut one_of = Vec::new();
        for (value, branch) in hoisted {
            let component = format!("{name}{}", pascal(&value));
            if schemas.contains_key(&component) {
                mapping.clear();
                break;
            }
            let reference = format!("#/components/schemas/{component}");
            schemas.insert(component, branch.clone());
            mapping.insert(value, json!(reference));
            one_of.push(json!({"$ref": reference}));
        }
        for (value, reference, tag_part, branch) in merged {
            let Some(target) = reference
                .strip_prefix("#/components/schemas/")
                .and_then(|t| schemas.get_mut(t))
            else {
                continue;
            };
            merge_tag(target, &property, &tag_part);
            if let Some(description) = branch.get("description") {
                target
                    .as_object_mut()
                    .map(|t| t.entry("description").or_insert(description.clone()));
            }
            mapping.insert(value, json!(reference.clone()));
            one_of.push(json!({"$ref": reference}));
        }
        if mapping.len() != branches.len() {
            continue;
        }
        if let Some(union) = schemas.get_mut(&name).and_then(Value::as_object_mut) {
            union.insert("oneOf".into(), Value::Array(one_of));
            union.insert(
                "discriminator".into(),
                json!({"propertyName": property, "mapping": mapping}),
            );
        }
    }
}

/// Puts the tag property of `tag_part` into `target`'s properties, first and required.
fn merge_tag(target: &mut Value, property: &str, tag_part: &Value) {
    let Some(target) = target.as_object_mut() else {
        return;
    };
    if let Some(schema) = tag_part.pointer(&format!("/properties/{property}")) {
        let properties = target.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(property.to_owned(), schema.clone());
        }
    }
    let required = target.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        if !required.iter().any(|r| r == property) {
            required.insert(0, json!(property));
        }
    }
}

fn free_form_objects(doc: &mut Value) {
    fn walk(node: &mut Value) {
        match node {
            Value::Object(object) => {
                let is_free = object.get("type") == Some(&json!("object"))
                    && !object.contains_key("properties")
                    && !object.contains_key("additionalProperties");
                if is_free {
                    object.insert("additionalProperties".into(), json!({}));
                }
                object.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(components) = doc.get_mut("components") {
        walk(components);
    }
}

/// The component names referenced anywhere under `node`.
fn references(node: &Value, out: &mut BTreeSet<String>) {
    match node {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    out.insert(name.to_owned());
                }
            }
            object.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Every schema reachable from `roots`, following references through the components.
fn reachable(schemas: &Map<String, Value>, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let mut next = BTreeSet::new();
        if let Some(schema) = schemas.get(&name) {
            references(schema, &mut next);
        }
        todo.extend(next.into_iter().filter(|n| !seen.contains(n)));
    }
    seen
}

fn is_nullable(schema: &Value) -> bool {
    let typed_null = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        Some(Value::String(t)) => t == "null",
        _ => false,
    };
    let union_null = ["oneOf", "anyOf"].iter().any(|key| {
        schema
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|branches| branches.iter().any(is_nullable))
    });
    typed_null || union_null
}

fn always_sent_is_required(doc: &mut Value) {
    let mut inputs = BTreeSet::new();
    let mut outputs = BTreeSet::new();
    for operation in operations_mut(doc) {
        if let Some(body) = operation.get("requestBody") {
            references(body, &mut inputs);
        }
        if let Some(parameters) = operation.get("parameters") {
            references(parameters, &mut inputs);
        }
        if let Some(responses) = operation.get("responses") {
            references(responses, &mut outputs);
        }
    }
    if let Some(responses) = doc.pointer("/components/responses") {
        references(responses, &mut outputs);
    }
    if let Some(webhooks) = doc.get("webhooks") {
        references(webhooks, &mut outputs);
    }
    let Some(schemas) = schemas_mut(doc) else {
        return;
    };
    let inputs = reachable(schemas, inputs);
    let outputs = reachable(schemas, outputs);
    let answers_only: BTreeMap<&String, ()> = outputs
        .iter()
        .filter(|name| !inputs.contains(*name))
        .map(|name| (name, ()))
        .collect();
    for (name, schema) in schemas.iter_mut() {
        if !answers_only.contains_key(name) {
            continue;
        }
        let mut objects: Vec<&mut Value> = vec![schema];
        while let Some(object) = objects.pop() {
            make_nullable_required(name, object);
            if let Some(branches) = object.get_mut("oneOf").and_then(Value::as_array_mut) {
                objects.extend(branches.iter_mut());
            }
        }
    }
}

fn make_nullable_required(name: &str, object: &mut Value) {
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    let missing: Vec<String> = properties
        .iter()
        .filter(|(property, schema)| {
            is_nullable(schema) && !MAY_BE_ABSENT.contains(&(name, property.as_str()))
        })
        .map(|(property, _)| property.clone())
        .collect();
    if missing.is_empty() {
        return;
    }
    let Some(object) = object.as_object_mut() else {
        return;
    };
    let required = object.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        for property in missing {
            if !required.iter().any(|r| *r == property) {
                required.push(json!(property));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader went away after `room` bytes.
    struct ClosedPipe {
        room: usize,
    }

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_an_error() {
        let doc = json!({"openapi": "3.1.0", "info": {"title": "t"}});
        assert!(print(&doc, &mut ClosedPipe { room: 10 }).is_ok());
        let mut all = Vec::new();
        print(&doc, &mut all).expect("written");
        assert!(all.ends_with(b"}\n"));
    }

    #[test]
    fn pascal_case_of_tags() {
        assert_eq!(pascal("units_sold"), "UnitsSold");
        assert_eq!(pascal("client_credentials"), "ClientCredentials");
    }

    #[test]
    fn finishing_is_idempotent() {
        let finished = crate::api::openapi();
        let mut again = finished.clone();
        finish_value(&mut again);
        assert!(again == finished, "finishing twice changes the document");
    }
}
