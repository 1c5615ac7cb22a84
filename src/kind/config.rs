//! The lesson's kind config, adjusted to the name and node count asked for.

use serde_yaml_ng::{Mapping, Value};

/// The pod network Flannel's manifest uses (`net-conf.json`); the cluster must match it.
pub const POD_SUBNET: &str = "10.244.0.0/16";

/// Sets `name`, rebuilds `nodes` as one control-plane node plus `workers` workers (each copied
/// from the lesson's first node of that role, so per-node settings survive), and makes sure
/// the cluster has no default CNI and the pod subnet Flannel expects. A config that asks for
/// kind's default CNI or another pod subnet is refused rather than silently changed.
pub fn render_kind_config(yaml: &str, name: &str, workers: u32) -> Result<String, String> {
    let mut doc: Value =
        serde_yaml_ng::from_str(yaml).map_err(|err| format!("it is not valid YAML: {err}"))?;
    let root = doc
        .as_mapping_mut()
        .ok_or("its top level is not a mapping")?;
    if root.get("kind").and_then(Value::as_str) != Some("Cluster") {
        return Err("it has no `kind: Cluster`".to_string());
    }
    root.insert("name".into(), name.into());

    let networking = root
        .entry("networking".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()))
        .as_mapping_mut()
        .ok_or("`networking` is not a mapping")?;
    match networking.get("disableDefaultCNI") {
        None => {
            networking.insert("disableDefaultCNI".into(), true.into());
        }
        Some(Value::Bool(true)) => {}
        Some(other) => {
            return Err(format!(
                "networking.disableDefaultCNI is {}, and the lesson installs its own CNI (it must be true)",
                scalar(other)
            ));
        }
    }
    match networking.get("podSubnet") {
        None => {
            networking.insert("podSubnet".into(), POD_SUBNET.into());
        }
        Some(Value::String(subnet)) if subnet == POD_SUBNET => {}
        Some(other) => {
            return Err(format!(
                "networking.podSubnet is {}, and Flannel's manifest uses {POD_SUBNET}",
                scalar(other)
            ));
        }
    }

    let template = |role: &str| -> Value {
        root.get("nodes")
            .and_then(Value::as_sequence)
            .and_then(|nodes| {
                nodes
                    .iter()
                    .find(|node| node.get("role").and_then(Value::as_str) == Some(role))
            })
            .cloned()
            .unwrap_or_else(|| {
                let mut node = Mapping::new();
                node.insert("role".into(), role.into());
                Value::Mapping(node)
            })
    };
    let control_plane = template("control-plane");
    let worker = template("worker");
    let mut nodes = vec![control_plane];
    nodes.extend((0..workers).map(|_| worker.clone()));
    root.insert("nodes".into(), Value::Sequence(nodes));

    serde_yaml_ng::to_string(&doc).map_err(|err| format!("cannot write it back: {err}"))
}

/// Publishes the cluster's API server on `address:port` (kind's `networking.apiServerAddress`
/// and `apiServerPort`): an environment Pod serves its cluster on the Pod's own IP, which kind
/// also puts into the serving certificate and the kubeconfig.
pub fn with_api_server(yaml: &str, address: &str, port: u16) -> Result<String, String> {
    let mut doc: Value =
        serde_yaml_ng::from_str(yaml).map_err(|err| format!("it is not valid YAML: {err}"))?;
    let networking = doc
        .as_mapping_mut()
        .ok_or("its top level is not a mapping")?
        .entry("networking".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()))
        .as_mapping_mut()
        .ok_or("`networking` is not a mapping")?;
    networking.insert("apiServerAddress".into(), address.into());
    networking.insert("apiServerPort".into(), u64::from(port).into());
    serde_yaml_ng::to_string(&doc).map_err(|err| format!("cannot write it back: {err}"))
}

/// A short rendering of a YAML scalar for messages.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        other => serde_yaml_ng::to_string(other)
            .map(|text| format!("`{}`", text.trim()))
            .unwrap_or_else(|_| "not a plain value".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LESSON: &str =
        include_str!("../../content/lessons/pod-connectivity/files/kind-config.yaml");

    fn parse(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("rendered YAML parses")
    }

    #[test]
    fn the_api_server_can_listen_on_a_given_address() {
        let rendered = render_kind_config(LESSON, "lab", 1).unwrap();
        let out = parse(&with_api_server(&rendered, "10.1.2.3", 6443).unwrap());
        assert_eq!(out["networking"]["apiServerAddress"], "10.1.2.3");
        assert_eq!(out["networking"]["apiServerPort"], 6443);
        assert_eq!(out["networking"]["disableDefaultCNI"], true);
    }

    #[test]
    fn the_lesson_config_gets_name_and_workers() {
        let out = parse(&render_kind_config(LESSON, "lab", 3).expect("renders"));
        assert_eq!(out["name"], Value::from("lab"));
        assert_eq!(out["apiVersion"], Value::from("kind.x-k8s.io/v1alpha4"));
        assert_eq!(out["networking"]["disableDefaultCNI"], Value::from(true));
        assert_eq!(out["networking"]["podSubnet"], Value::from(POD_SUBNET));
        let roles: Vec<&str> = out["nodes"]
            .as_sequence()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["role"].as_str())
            .collect();
        assert_eq!(roles, ["control-plane", "worker", "worker", "worker"]);
    }

    #[test]
    fn zero_workers_leave_the_control_plane_alone() {
        let out = parse(&render_kind_config(LESSON, "solo", 0).expect("renders"));
        assert_eq!(out["nodes"].as_sequence().map(Vec::len), Some(1));
    }

    #[test]
    fn missing_settings_are_added_and_node_settings_kept() {
        let yaml = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n    image: kindest/node:v1.33.1\n";
        let out = parse(&render_kind_config(yaml, "x", 1).expect("renders"));
        assert_eq!(out["networking"]["disableDefaultCNI"], Value::from(true));
        assert_eq!(out["networking"]["podSubnet"], Value::from(POD_SUBNET));
        assert_eq!(
            out["nodes"][0]["image"],
            Value::from("kindest/node:v1.33.1")
        );
        assert_eq!(out["nodes"][1]["role"], Value::from("worker"));
    }

    #[test]
    fn contradicting_settings_are_refused() {
        let kindnet = "kind: Cluster\nnetworking:\n  disableDefaultCNI: false\n";
        assert!(
            render_kind_config(kindnet, "x", 1).is_err_and(|e| e.contains("disableDefaultCNI"))
        );
        let subnet = "kind: Cluster\nnetworking:\n  podSubnet: 10.96.0.0/16\n";
        assert!(render_kind_config(subnet, "x", 1).is_err_and(|e| e.contains("10.96.0.0/16")));
        assert!(render_kind_config("- a\n", "x", 1).is_err());
        assert!(render_kind_config("kind: Pod\n", "x", 1).is_err());
    }
}
