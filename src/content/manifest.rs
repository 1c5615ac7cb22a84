//! What a manifest declares: the objects of a multi-document YAML stream, by kind,
//! namespace and name (for describing steps and for lint).

use serde::Deserialize;

/// One object a manifest declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// `Pod`, `DaemonSet`, ...
    pub kind: String,
    /// `metadata.namespace`, if written.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl std::fmt::Display for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
}

/// The objects of a YAML stream, or why it is not a manifest (bad YAML, a document without
/// apiVersion, kind or metadata.name).
pub fn objects(yaml: &str) -> Result<Vec<Declared>, String> {
    let mut out = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(yaml) {
        let value = serde_yaml_ng::Value::deserialize(document).map_err(|e| e.to_string())?;
        if value.is_null() {
            continue;
        }
        let head: Head = serde_yaml_ng::from_value(value).map_err(|e| e.to_string())?;
        let (Some(_), Some(kind)) = (head.api_version, head.kind) else {
            return Err("a document lacks apiVersion or kind".to_string());
        };
        let meta = head.metadata.ok_or(format!("a {kind} has no metadata"))?;
        let name = meta.name.ok_or(format!("a {kind} has no metadata.name"))?;
        out.push(Declared {
            kind,
            namespace: meta.namespace,
            name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_document() {
        let found = objects(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: multi}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: multi}\n",
        )
        .unwrap();
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["Namespace multi", "Pod multi/p"]
        );
        assert!(objects("kind: Pod\nmetadata: {name: p}\n").is_err());
        assert!(objects("apiVersion: v1\nkind: Pod\nmetadata: {}\n").is_err());
        assert!(objects(": : :").is_err());
    }
}
