//! The MUST rules of STIX 2.1 (placeholder: id/type/timestamps only, to be completed).

use serde_json::Value;

use crate::{ObjectMeta, Timestamp, ValidationError};

pub(crate) fn validate_object(value: &Value) -> Result<ObjectMeta, Vec<ValidationError>> {
    let obj = value.as_object().ok_or_else(|| {
        vec![ValidationError {
            object_id: "<no id>".into(),
            property: "".into(),
            rule: "an object must be a JSON object".into(),
        }]
    })?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("<no id>")
        .to_string();
    let e = |p: &str, r: &str| ValidationError {
        object_id: id.clone(),
        property: p.into(),
        rule: r.into(),
    };
    let mut errs = Vec::new();
    let type_ = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if type_.is_empty() {
        errs.push(e("type", "required"));
    }
    if !id.starts_with(&format!("{type_}--")) {
        errs.push(e("id", "must be '<type>--<UUID>' with the object's type"));
    }
    let ts = |p: &str, errs: &mut Vec<ValidationError>| match obj.get(p) {
        None => None,
        Some(Value::String(s)) => match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(x) => {
                errs.push(e(p, &x.reason));
                None
            }
        },
        Some(_) => {
            errs.push(e(p, "must be a string timestamp"));
            None
        }
    };
    let created = ts("created", &mut errs);
    let modified = ts("modified", &mut errs);
    let spec_version = obj
        .get("spec_version")
        .and_then(Value::as_str)
        .unwrap_or("2.1")
        .to_string();
    if errs.is_empty() {
        Ok(ObjectMeta {
            id,
            type_,
            spec_version,
            created,
            modified,
        })
    } else {
        Err(errs)
    }
}
