//! metav1 `Status` errors, shaped like a real API server's.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// An API error that renders as a metav1 `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) message: String,
    pub(crate) details: Option<Value>,
}

/// The metav1 `reason` conventionally used with an HTTP status code.
pub(crate) fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !rt.group.is_empty() {
        d.insert("group".into(), json!(rt.group));
    }
    d.insert("kind".into(), json!(rt.plural));
    Value::Object(d)
}

impl ApiError {
    /// An error with the conventional reason for `code`.
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason_for(code).to_string(),
            message: message.into(),
            details: None,
        }
    }

    /// Attaches `details` naming the object.
    pub(crate) fn about(mut self, rt: &ResourceType, name: &str) -> Self {
        self.details = Some(details(rt, name));
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub(crate) fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            format!("{} \"{}\" not found", rt.qualified_plural(), name),
        )
        .about(rt, name)
    }

    pub(crate) fn already_exists(rt: &ResourceType, name: &str) -> Self {
        let mut e = Self::new(
            409,
            format!("{} \"{}\" already exists", rt.qualified_plural(), name),
        )
        .about(rt, name);
        e.reason = "AlreadyExists".into();
        e
    }

    pub(crate) fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified_plural(),
                name
            ),
        )
        .about(rt, name)
    }

    pub(crate) fn invalid(rt: &ResourceType, name: &str, message: &str) -> Self {
        Self::new(
            422,
            format!("{} \"{}\" is invalid: {}", rt.kind, name, message),
        )
        .about(rt, name)
    }

    /// The page-not-found answer for an unknown path or resource.
    pub(crate) fn no_route() -> Self {
        Self::new(404, "the server could not find the requested resource")
    }

    /// The Status JSON object.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(d), Some(o)) = (&self.details, v.as_object_mut()) {
            o.insert("details".into(), d.clone());
        }
        v
    }
}
