//! [`OpenApi`]: validation of a fake's answers against the vendor's OpenAPI document.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::lock;

/// A parsed OpenAPI 3 document with a cache of compiled validators. Test code: every
/// method panics (with the reason) on a document or schema that is not what it should be,
/// and the `assert_*` methods panic on an answer that violates its schema.
#[derive(Debug)]
pub struct OpenApi {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    validated: Mutex<BTreeSet<(String, u16)>>,
}

impl OpenApi {
    /// Parses `text` (the document as JSON).
    ///
    /// # Panics
    /// When `text` is not JSON.
    pub fn parse(text: &str) -> Self {
        let doc = serde_json::from_str(text).unwrap_or_else(|e| panic!("OpenAPI document: {e}"));
        Self {
            doc,
            validators: Mutex::default(),
            validated: Mutex::default(),
        }
    }

    /// Rewrites every `oneOf` that has a `discriminator.mapping` so that a branch matches
    /// only when the discriminator property has its mapped value. JSON Schema ignores
    /// `discriminator`, and variants that differ mostly by their tag would otherwise match
    /// several branches (a `oneOf` failure) or the wrong one.
    #[must_use]
    pub fn with_discriminators(mut self) -> Self {
        apply_discriminators(&mut self.doc);
        self
    }

    /// The document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// A validator for `schema` (formats checked), resolving `#/components/...` against
    /// the document.
    ///
    /// # Panics
    /// When `schema` is not an object or does not compile.
    pub fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let mut root = schema.clone();
        root.as_object_mut()
            .expect("a schema is an object")
            .insert("components".into(), self.doc["components"].clone());
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema:#}"))
    }

    /// The validator cached under `key`, compiled from `schema()` the first time.
    fn cached(&self, key: &str, schema: impl FnOnce() -> Value) -> Arc<jsonschema::Validator> {
        if let Some(v) = lock(&self.validators).get(key) {
            return v.clone();
        }
        // Compiled outside the lock: a big schema takes a while, and tests run in parallel.
        let v = Arc::new(self.validator(&schema()));
        lock(&self.validators)
            .entry(key.to_owned())
            .or_insert(v)
            .clone()
    }

    /// The (cached) validator of `#/components/schemas/{name}`.
    ///
    /// # Panics
    /// When the schema does not compile.
    pub fn component(&self, name: &str) -> Arc<jsonschema::Validator> {
        let pointer = format!("#/components/schemas/{name}");
        self.cached(&pointer, || json!({ "$ref": pointer }))
    }

    /// The violations of `value` against `#/components/schemas/{name}` (empty: valid).
    pub fn component_errors(&self, name: &str, value: &Value) -> Vec<String> {
        errors(&self.component(name), value)
    }

    /// Asserts that `value` satisfies `#/components/schemas/{name}`.
    ///
    /// # Panics
    /// When it does not, listing the violations.
    pub fn assert_component(&self, name: &str, value: &Value) {
        let errors = self.component_errors(name, value);
        assert!(errors.is_empty(), "{name} violated: {errors:#?}\n{value:#}");
    }

    /// The path template and operation object that `method path` belongs to (a query
    /// string is ignored; of several matching templates the one with the most literal
    /// segments wins, so `/payments/find/{m}` beats `/payments/{imp_uid}/{x}`).
    pub fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, ops) in self.doc["paths"].as_object()? {
            let Some(op) = ops.get(&method) else {
                continue;
            };
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            if t.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let matches = t.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') {
                    true
                } else {
                    literal += 1;
                    t == s
                }
            });
            if matches && best.is_none_or(|(l, ..)| literal > l) {
                best = Some((literal, template, op));
            }
        }
        best.map(|(_, t, op)| (t, op))
    }

    /// The JSON schema the document declares for `template`'s `method` answer with
    /// `status`: `None` when the operation or status is not declared, `Some(None)` when it
    /// is declared without a JSON body.
    pub fn response_schema(
        &self,
        method: &str,
        template: &str,
        status: u16,
    ) -> Option<Option<&Value>> {
        let op = &self.doc["paths"][template][method.to_ascii_lowercase()];
        let declared = op["responses"].get(status.to_string())?;
        Some(declared["content"]["application/json"].get("schema"))
    }

    /// The statuses the document declares for `template`'s `method`.
    pub fn declared_statuses(&self, method: &str, template: &str) -> Vec<String> {
        self.doc["paths"][template][method.to_ascii_lowercase()]["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Asserts that `body` satisfies `schema`, the declared answer of `template`'s
    /// `method` with `status`, and notes that pair as validated (see
    /// [`Self::validated`]). `context` names the request in the failure message.
    ///
    /// # Panics
    /// When `body` violates `schema`, listing the violations.
    pub fn assert_response(
        &self,
        method: &str,
        template: &str,
        status: u16,
        schema: &Value,
        body: &Value,
        context: &str,
    ) {
        let v = self.cached(&format!("{method} {template} {status}"), || schema.clone());
        let errors = errors(&v, body);
        assert!(
            errors.is_empty(),
            "{context} ({method} {template}) -> {status} violates the spec: {errors:#?}\n{body:#}"
        );
        self.note_validated(method, template, status);
    }

    /// Notes `method template` answered with `status` as checked against the document.
    pub fn note_validated(&self, method: &str, template: &str, status: u16) {
        lock(&self.validated).insert((
            format!("{} {template}", method.to_ascii_uppercase()),
            status,
        ));
    }

    /// The `("METHOD template", status)` pairs validated so far in this process.
    pub fn validated(&self) -> BTreeSet<(String, u16)> {
        lock(&self.validated).clone()
    }
}

fn errors(v: &jsonschema::Validator, value: &Value) -> Vec<String> {
    v.iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn apply_discriminators(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let mapping = o.get("discriminator").and_then(|d| {
                Some((
                    d.get("propertyName")?.as_str()?.to_owned(),
                    d.get("mapping")?.as_object()?.clone(),
                ))
            });
            if let (Some((prop, mapping)), true) = (mapping, o.contains_key("oneOf")) {
                let branches: Vec<Value> = mapping
                    .iter()
                    .map(|(tag, target)| {
                        json!({"allOf": [
                            {"$ref": target},
                            {"properties": {prop.clone(): {"const": tag}}, "required": [prop.clone()]},
                        ]})
                    })
                    .collect();
                o.insert("oneOf".into(), Value::Array(branches));
                o.remove("discriminator");
            }
            for (_, child) in o.iter_mut() {
                apply_discriminators(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(apply_discriminators),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"{
        "paths": {
            "/payments/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Payment"}}}}}}},
            "/payments/find/{m}": {"get": {"responses": {"200": {}}}}
        },
        "components": {"schemas": {
            "Payment": {"oneOf": [{"$ref": "#/components/schemas/Paid"}, {"$ref": "#/components/schemas/Ready"}],
                        "discriminator": {"propertyName": "status", "mapping": {"PAID": "#/components/schemas/Paid", "READY": "#/components/schemas/Ready"}}},
            "Paid": {"type": "object", "required": ["status", "id"], "properties": {"status": {"type": "string"}, "id": {"type": "string"}}},
            "Ready": {"type": "object", "required": ["status", "id"], "properties": {"status": {"type": "string"}, "id": {"type": "string"}}}
        }}
    }"##;

    #[test]
    fn operations_prefer_literal_segments_and_ignore_the_query() {
        let api = OpenApi::parse(DOC);
        assert_eq!(
            api.operation("GET", "/payments/p-1?storeId=s").map(|o| o.0),
            Some("/payments/{id}")
        );
        assert_eq!(
            api.operation("get", "/payments/find/m").map(|o| o.0),
            Some("/payments/find/{m}")
        );
        assert!(api.operation("POST", "/payments/p-1").is_none());
        assert!(api.response_schema("GET", "/payments/find/{m}", 200) == Some(None));
        assert!(
            api.response_schema("GET", "/payments/find/{m}", 404)
                .is_none()
        );
    }

    #[test]
    fn discriminators_pick_one_branch() {
        let paid = json!({"status": "PAID", "id": "p"});
        // Both branches match a bare `oneOf`: JSON Schema calls that a failure.
        assert!(
            !OpenApi::parse(DOC)
                .component_errors("Payment", &paid)
                .is_empty()
        );
        let api = OpenApi::parse(DOC).with_discriminators();
        assert!(api.component_errors("Payment", &paid).is_empty());
        assert!(
            !api.component_errors("Payment", &json!({"status": "GONE", "id": "p"}))
                .is_empty()
        );
        assert!(
            !api.component_errors("Payment", &json!({"status": "PAID"}))
                .is_empty()
        );
    }
}
