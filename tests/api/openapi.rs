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
