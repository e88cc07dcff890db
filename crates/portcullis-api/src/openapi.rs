//! The OpenAPI 3.1 document, generated from the route table and the wire types' schemas.

use std::collections::BTreeMap;

use portcullis_wire::envelope::{Message, ResultInfo};
use serde_json::{json, Map, Value};
use utoipa::openapi::{RefOr, Schema};

use crate::routes::{schema, Guard, Shape, ROUTES};

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn envelope(result: Value, info: Option<&str>) -> Value {
    let mut props = json!({
        "success": {"type": "boolean"},
        "errors": {"type": "array", "items": reference("Message")},
        "messages": {"type": "array", "items": reference("Message")},
        "result": result,
    });
    let mut required = vec!["success", "errors", "messages", "result"];
    if let Some(info) = info {
        props["result_info"] = reference(info);
        required.push("result_info");
    }
    json!({"type": "object", "required": required, "properties": props})
}

/// Builds the document.
pub fn document() -> Value {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    schema::<Message>(&mut schemas);
    schema::<ResultInfo>(&mut schemas);
    schema::<portcullis_wire::body::CursorInfo>(&mut schemas);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in ROUTES {
        let mut params: Vec<Value> = Vec::new();
        let mut rest = r.path;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
            let name = &rest[start + 1..end];
            params.push(json!({
                "name": name, "in": "path", "required": true,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}
            }));
            rest = &rest[end..];
        }
        for p in (r.query)() {
            let mut schema = json!({"type": p.kind});
            if !p.allowed.is_empty() {
                schema["enum"] = json!(p.allowed);
            }
            params.push(json!({
                "name": p.name, "in": "query", "required": false,
                "description": p.doc, "schema": schema
            }));
        }
        let result = match r.result {
            Shape::Object(f) => reference(&f(&mut schemas)),
            Shape::Array(f) | Shape::Page(f) | Shape::Cursor(f) => {
                json!({"type": "array", "items": reference(&f(&mut schemas))})
            }
            Shape::Str => json!({"type": "string"}),
            Shape::Document => json!({"type": "object", "required": ["openapi", "paths"]}),
            Shape::Metrics => json!({"type": "string"}),
        };
        let paged = match r.result {
            Shape::Page(_) => Some("ResultInfo"),
            Shape::Cursor(_) => Some("CursorInfo"),
            _ => None,
        };
        let success = if matches!(r.result, Shape::Document | Shape::Metrics) {
            result
        } else {
            envelope(result, paged)
        };
        let media = if matches!(r.result, Shape::Metrics) {
            crate::metrics::CONTENT_TYPE
        } else {
            "application/json"
        };
        let mut op = json!({
            "operationId": r.operation_id,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": params,
            "responses": {
                "200": {"description": "Success", "content": {media: {"schema": success}}},
                "default": {"description": "Failure envelope", "content": {"application/json": {"schema": envelope(json!({"type": "null"}), None)}}}
            }
        });
        match r.guard {
            Guard::Public => op["security"] = json!([]),
            Guard::Permission(key) => op["x-cfPermissionsRequired"] = json!({"enum": [key]}),
            Guard::Operator => op["x-portcullisOperatorOnly"] = json!(true),
            Guard::Authenticated => {}
        }
        if let Some((f, array)) = r.body {
            let name = f(&mut schemas);
            let s = if array {
                json!({"type": "array", "items": reference(&name)})
            } else {
                reference(&name)
            };
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": s}}});
        }
        paths
            .entry(r.path.to_owned())
            .or_default()
            .insert(r.method.to_lowercase(), op);
    }
    let mut components = Map::new();
    for (name, s) in schemas {
        components
            .entry(name)
            .or_insert_with(|| serde_json::to_value(s).unwrap_or(Value::Null));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Portcullis",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A self-hosted IAM server implementing the IAM part of Cloudflare's v4 API. Generated from the route table."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "api_token": {"type": "http", "scheme": "bearer"},
                "api_email": {"type": "apiKey", "in": "header", "name": "X-Auth-Email"},
                "api_key": {"type": "apiKey", "in": "header", "name": "X-Auth-Key"}
            }
        },
        "security": [{"api_token": []}, {"api_email": [], "api_key": []}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_refs_resolve() {
        let doc = document();
        for r in ROUTES {
            assert!(
                doc["paths"][r.path][r.method.to_lowercase()].is_object(),
                "{} {} missing",
                r.method,
                r.path
            );
        }
        let text = doc.to_string();
        let schemas = &doc["components"]["schemas"];
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| *c != '"').collect();
            assert!(schemas[&name].is_object(), "dangling $ref {name}");
        }
    }
}
