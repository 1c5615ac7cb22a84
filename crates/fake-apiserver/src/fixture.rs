//! YAML fixtures: Kubernetes objects plus the fake's own `FakeExecRule` and `FakeLog`
//! documents.
//!
//! ```yaml
//! kind: FakeExecRule            # apiVersion optional (fake.kubelab.dev/v1)
//! namespace: test
//! pod: pod1
//! container: nginx              # optional: any container
//! command: [curl, -s, "http://10.244.1.3/"]   # exact; a trailing "*" matches any rest
//! stdout: "<h1>Welcome to nginx!</h1>\n"
//! stderr: ""                    # optional
//! exitCode: 0                   # optional
//! delay: 2s                     # optional: "500ms", "2s", "1m" or a number of seconds
//! ---
//! kind: FakeLog
//! namespace: test
//! pod: pod1
//! container: nginx
//! text: |
//!   line 1
//!   line 2
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::{ExecRule, FakeCluster};

/// Why a fixture could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError(String);

impl FixtureError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        FixtureError(message.into())
    }
}

impl std::fmt::Display for FixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FixtureError {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExecRuleDoc {
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    namespace: String,
    pod: String,
    #[serde(default)]
    container: Option<String>,
    command: Vec<String>,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    delay: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogDoc {
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    namespace: String,
    pod: String,
    container: String,
    text: String,
}

/// Parses `"500ms"`, `"2s"`, `"1.5s"`, `"1m"` or a number of seconds.
pub(crate) fn parse_duration(v: &Value) -> Result<Duration, FixtureError> {
    let bad = || FixtureError::new(format!("invalid delay {v}: use 500ms, 2s, 1m or seconds"));
    let secs = match v {
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        Value::String(s) => {
            let s = s.trim();
            let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
                (n, 0.001)
            } else if let Some(n) = s.strip_suffix('s') {
                (n, 1.0)
            } else if let Some(n) = s.strip_suffix('m') {
                (n, 60.0)
            } else {
                (s, 1.0)
            };
            num.trim().parse::<f64>().map_err(|_| bad())? * scale
        }
        _ => return Err(bad()),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn apply_document(cluster: &FakeCluster, doc: Value) -> Result<usize, FixtureError> {
    match doc.get("kind").and_then(Value::as_str) {
        Some("FakeExecRule") => {
            let d: ExecRuleDoc = serde_json::from_value(doc)
                .map_err(|e| FixtureError::new(format!("FakeExecRule: {e}")))?;
            cluster.script_exec(ExecRule {
                namespace: d.namespace,
                pod: d.pod,
                container: d.container,
                command: d.command,
                stdout: d.stdout,
                stderr: d.stderr,
                exit_code: d.exit_code,
                delay: d.delay.as_ref().map(parse_duration).transpose()?,
            });
            Ok(1)
        }
        Some("FakeLog") => {
            let d: LogDoc = serde_json::from_value(doc)
                .map_err(|e| FixtureError::new(format!("FakeLog: {e}")))?;
            cluster.set_log(&d.namespace, &d.pod, &d.container, &d.text);
            Ok(1)
        }
        Some("List") if doc.get("apiVersion").and_then(Value::as_str) == Some("v1") => {
            let mut n = 0;
            if let Some(items) = doc.get("items").and_then(Value::as_array) {
                for item in items {
                    n += apply_document(cluster, item.clone())?;
                }
            }
            Ok(n)
        }
        _ => {
            cluster.try_apply(doc)?;
            Ok(1)
        }
    }
}

/// Applies every document of a multi-document YAML string.
pub(crate) fn apply_yaml(cluster: &FakeCluster, yaml: &str) -> Result<usize, FixtureError> {
    let mut applied = 0;
    for (i, de) in serde_yaml_ng::Deserializer::from_str(yaml).enumerate() {
        let doc = Value::deserialize(de)
            .map_err(|e| FixtureError::new(format!("YAML document {}: {e}", i + 1)))?;
        if doc.is_null() {
            continue;
        }
        applied += apply_document(cluster, doc)
            .map_err(|e| FixtureError::new(format!("YAML document {}: {e}", i + 1)))?;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration(&json!("500ms")).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration(&json!("2s")).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(
            parse_duration(&json!("1m")).unwrap(),
            Duration::from_secs(60)
        );
        assert_eq!(
            parse_duration(&json!(1.5)).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_duration(&json!("soon")).is_err());
    }

    #[test]
    fn yaml_with_rules_logs_and_objects() {
        let c = FakeCluster::new();
        let n = c
            .try_apply_yaml(
                "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: test}\n---\n\
                 kind: FakeExecRule\nnamespace: test\npod: p\ncommand: [echo, '*']\nstdout: hi\nexitCode: 2\ndelay: 10ms\n\
                 ---\nkind: FakeLog\nnamespace: test\npod: p\ncontainer: c\ntext: hello\n---\n",
            )
            .unwrap();
        assert_eq!(n, 3);
        assert!(c.get("v1", "Namespace", None, "test").is_some());
        let rules = c.lock().exec_rules.clone();
        assert_eq!(rules[0].exit_code, 2);
        assert!(rules[0].matches("test", "p", None, &["echo".into(), "a".into()]));
        assert!(
            c.try_apply_yaml("kind: FakeExecRule\nnamespace: x\n")
                .is_err()
        );
        assert!(c.try_apply_yaml("kind: Pod\n").is_err());
    }
}
