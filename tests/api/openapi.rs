//! The OpenAPI document as a contract: unique schema names, and the parts a client
//! generator or a contract tester relies on.

use std::collections::BTreeMap;

use serde_json::Value;

/// Every schema name comes from one Rust type. utoipa keeps the last schema registered
/// under a name, so two types sharing one (the ingestion sale line and the rule-test sale
/// line were both `SaleInput`) silently document one operation with the other's fields.
/// Each resource's components are collected on their own and compared by name.
#[test]
fn every_schema_name_belongs_to_one_type() {
    let mut seen: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut clashes = Vec::new();
    let header = {
        use utoipa::OpenApi;
        podium::api::docs::ApiDoc::openapi()
            .components
            .unwrap_or_default()
    };
    let resources = podium::api::ROOT
        .iter()
        .chain(podium::api::API_V1)
        .map(|(name, configure)| ((*name).to_owned(), podium::api::components_of(*configure)))
        .chain([("docs".to_owned(), header)]);
    for (resource, components) in resources {
        for (name, schema) in components.schemas {
            let schema = serde_json::to_value(schema).expect("serialisable");
            match seen.get(&name) {
                Some((first, earlier)) if *earlier != schema => {
                    clashes.push(format!("{name}: {first} and {resource}"));
                }
                Some(_) => {}
                None => {
                    seen.insert(name, (resource.clone(), schema));
                }
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "schema names claimed by two Rust types: {clashes:?}"
    );
}

fn document() -> Value {
    podium::api::openapi()
}

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            out.push((format!("{method} {path}"), operation));
        }
    }
    out
}

fn schema<'d>(doc: &'d Value, reference: &Value) -> &'d Value {
    let name = reference["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .expect("a schema reference");
    &doc["components"]["schemas"][name]
}

/// Each grant is one complete object: its `grant_type` is a required one-value enum
/// beside its other fields, so `additionalProperties: false` does not refuse it.
#[test]
fn the_token_request_is_a_discriminated_union_of_complete_objects() {
    let doc = document();
    let union = &doc["components"]["schemas"]["TokenRequest"];
    assert_eq!(union["discriminator"]["propertyName"], "grant_type");
    let branches = union["oneOf"].as_array().expect("oneOf");
    assert_eq!(branches.len(), 3);
    for branch in branches {
        let object = schema(&doc, branch);
        assert_eq!(object["additionalProperties"], false);
        let tag = &object["properties"]["grant_type"]["enum"];
        assert_eq!(tag.as_array().map(Vec::len), Some(1), "{object}");
        assert!(object["required"]
            .as_array()
            .expect("required")
            .contains(&Value::from("grant_type")));
        let mapped = &union["discriminator"]["mapping"][tag[0].as_str().expect("a tag")];
        assert_eq!(mapped, &branch["$ref"]);
    }
}

#[test]
fn public_operations_say_so_and_there_is_a_server() {
    let doc = document();
    assert_eq!(doc["servers"][0]["url"], "/");
    let public: Vec<String> = operations(&doc)
        .into_iter()
        .filter(|(_, op)| op["security"] == serde_json::json!([]))
        .map(|(_, op)| op["operationId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(public, ["issue_token", "healthz", "readyz", "public_page"]);
    for (name, operation) in operations(&doc) {
        assert!(operation["security"].is_array(), "{name} has no security");
    }
}

#[test]
fn bodies_database_headers_and_pages_are_declared() {
    let doc = document();
    for (name, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        if operation["requestBody"]["content"]["application/json"].is_object() {
            assert!(responses.contains_key("415"), "{name} lacks 415");
            assert!(responses.contains_key("413"), "{name} lacks 413");
        }
        if operation["operationId"] != "healthz" {
            assert!(responses.contains_key("503"), "{name} lacks 503");
        }
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(r) => doc
                    .pointer(&r.replacen('#', "", 1))
                    .expect("a shared response"),
                None => response,
            };
            assert!(
                response["headers"]["X-Request-Id"].is_object(),
                "{name} {status} lacks X-Request-Id"
            );
            if status == "201" && operation["operationId"] != "record_sales" {
                assert!(
                    response["headers"]["Location"].is_object(),
                    "{name} 201 lacks Location"
                );
            }
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            match parameter["name"].as_str() {
                Some("limit") => {
                    assert_eq!(parameter["schema"]["minimum"], 1, "{name}");
                    assert_eq!(parameter["schema"]["maximum"], 200, "{name}");
                }
                Some("offset") => assert_eq!(parameter["schema"]["minimum"], 0, "{name}"),
                _ => {}
            }
        }
    }
    for (name, page) in doc["components"]["schemas"].as_object().expect("schemas") {
        if let Some(item) = name.strip_prefix("Page_") {
            assert_eq!(
                page["properties"]["items"]["items"]["$ref"],
                format!("#/components/schemas/{item}"),
                "{name} inlines its items"
            );
        }
    }
}

/// No schema is an object that says nothing of its members: TypeScript makes those
/// `Record<string, never>`.
#[test]
fn free_form_objects_allow_any_member() {
    fn walk(node: &Value, path: &str) {
        match node {
            Value::Object(object) => {
                if object.get("type") == Some(&Value::from("object")) {
                    assert!(
                        object.contains_key("properties")
                            || object.contains_key("additionalProperties"),
                        "{path} is an object of nothing"
                    );
                }
                for (key, value) in object {
                    walk(value, &format!("{path}/{key}"));
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, path)),
            _ => {}
        }
    }
    walk(&document()["components"], "#/components");
}

/// In answers, a nullable field is sent as `null`, never left out.
#[test]
fn answer_fields_sent_as_null_are_required() {
    let doc = document();
    let user = &doc["components"]["schemas"]["UserDto"];
    let required = user["required"].as_array().expect("required");
    for (property, schema) in user["properties"].as_object().expect("properties") {
        if schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("null")))
        {
            assert!(
                required.contains(&Value::from(property.as_str())),
                "{property}"
            );
        }
    }
}

/// What the document says of a body that is not JSON, and of the headers, is what the
/// server does.
#[actix_web::test]
async fn the_server_answers_as_documented() {
    let app = crate::helpers::spawn_app().await;
    let response = app
        .post("/api/v1/auth/token")
        .header("content-type", "text/plain")
        .body("grant_type=password")
        .send()
        .await
        .expect("request sent");
    assert!(response.headers().contains_key("x-request-id"));
    let problem = crate::helpers::assert_problem(response, 415, "unsupported_media_type").await;
    assert_eq!(problem["status"], 415);
    let admin = app.admin().await;
    let created = app
        .post_as(&admin, "/api/v1/products")
        .json(
            &serde_json::json!({"sku": "OA-1", "name": "OpenAPI espresso", "category": "espresso"}),
        )
        .send()
        .await
        .expect("request sent");
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("location"));
    assert!(created.headers().contains_key("x-request-id"));
}

/// A rule's script uploads as JSON or as the bare file (`text/plain`); anything else is 415.
#[actix_web::test]
async fn a_rule_version_uploads_as_json_or_plain_text() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.admin().await;
    let rule = crate::rules::new_rule(&app, &admin, "Plain upload", "objective").await;
    let path = format!("/api/v1/rules/{rule}/versions");
    let plain = app
        .post_as(&admin, &path)
        .header("content-type", "text/plain; charset=utf-8")
        .body("fn score(participant, sales, ctx) { sales.quantity() }")
        .send()
        .await
        .expect("sent");
    assert_eq!(plain.status(), 201);
    let version: Value = plain.json().await.expect("JSON");
    assert_eq!(version["version"], 1);
    let json = app
        .post_as(&admin, &path)
        .json(
            &serde_json::json!({"source": "fn score(participant, sales, ctx) { sales.amount() }"}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(json.status(), 201);
    let other = app
        .post_as(&admin, &path)
        .header("content-type", "application/xml")
        .body("<source/>")
        .send()
        .await
        .expect("sent");
    crate::helpers::assert_problem(other, 415, "unsupported_media_type").await;
    let doc = document();
    let content = &doc["paths"]["/api/v1/rules/{id}/versions"]["post"]["requestBody"]["content"];
    assert!(content["application/json"].is_object());
    assert!(content["text/plain"].is_object());
}

/// The validators' limits are in the schema.
#[test]
fn validation_limits_are_documented() {
    let doc = document();
    let user = &doc["components"]["schemas"]["CreateUser"]["properties"];
    assert_eq!(user["email"]["format"], "email");
    assert_eq!(user["email"]["maxLength"], 254);
    assert_eq!(user["password"]["minLength"], 12);
    assert_eq!(user["password"]["maxLength"], 256);
    assert_eq!(user["display_name"]["maxLength"], 200);
    let product = &doc["components"]["schemas"]["CreateProduct"]["properties"];
    assert_eq!(product["sku"]["maxLength"], 64);
}

/// Creates link to the read of what they created, with the parameter filled from the body.
#[test]
fn creates_link_to_their_reads() {
    let doc = document();
    for (path, read) in [
        ("/api/v1/challenges", "get_challenge"),
        ("/api/v1/participants", "get_participant"),
        ("/api/v1/rules", "get_rule"),
        ("/api/v1/rules/{id}/versions", "get_version"),
    ] {
        let link = &doc["paths"][path]["post"]["responses"]["201"]["links"][read];
        assert_eq!(link["operationId"], read, "{path}");
        assert!(link["parameters"].is_object(), "{path}");
    }
}

/// Partners generate receiver types from the `webhooks` section: one entry per news
/// kind, each a signed `POST` of the delivery payload.
#[test]
fn every_news_kind_is_a_documented_webhook() {
    let doc = podium::api::openapi();
    let hooks = doc["webhooks"].as_object().expect("a webhooks section");
    assert_eq!(hooks.len(), podium::news::Kind::ALL.len());
    for kind in podium::news::Kind::ALL {
        let post = &hooks[kind.as_str()]["post"];
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/WebhookPayload"
        );
        let headers: Vec<&str> = post["parameters"]
            .as_array()
            .expect("headers")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            headers,
            [
                "Podium-Event",
                "Podium-Delivery",
                "Podium-Timestamp",
                "Podium-Signature"
            ]
        );
    }
    assert!(doc["components"]["schemas"]["WebhookPayload"]["properties"]["news"].is_object());
}
