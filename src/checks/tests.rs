//! Evaluation tests on fixtures: every check kind, failing and passing, with the evidence.

use super::evaluate::{judge, verdict};
use super::fixtures::*;
use super::observed::{ExecOutput, Need, Observed};
use super::plan::{exec_request, exec_requests, log_requests, needs};
use super::spec::{Check, Criterion, LocalProtocol};
use super::verdict::Status;

fn obs() -> Observed {
    Observed::new(now())
}

fn put_pod(observed: &mut Observed, pod: k8s_openapi::api::core::v1::Pod) {
    let key = (
        pod.metadata.namespace.clone().unwrap(),
        pod.metadata.name.clone().unwrap(),
    );
    observed.pods.insert(key, Some(pod));
}

fn absent(observed: &mut Observed, name: &str) {
    observed.pods.insert(("test".into(), name.into()), None);
}

fn pod_running(pod: &str) -> Check {
    Check::PodRunning {
        namespace: "test".into(),
        pod: pod.into(),
        image: Some("nginx:1.25".into()),
        images: Default::default(),
        containers: None,
        ports: Vec::new(),
    }
}

#[test]
fn pod_running_passes_and_fails_with_reasons() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    absent(&mut o, "pod2");
    let (status, evidence) = judge(&pod_running("pod1"), &o);
    assert_eq!(status, Status::Passed, "{evidence:?}");
    assert!(evidence.observed.contains("Running, 1/1 ready"));
    let (status, evidence) = judge(&pod_running("pod2"), &o);
    assert_eq!(status, Status::Failed);
    assert!(
        evidence
            .observed
            .contains("pod2 does not exist in namespace test")
    );
    let wrong = Check::PodRunning {
        namespace: "test".into(),
        pod: "pod1".into(),
        image: Some("nginx:1.27".into()),
        images: Default::default(),
        containers: None,
        ports: Vec::new(),
    };
    let (status, evidence) = judge(&wrong, &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(evidence.reasons, vec!["container nginx runs nginx:1.25"]);
}

#[test]
fn pod_running_checks_which_container_runs_which_image() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    let check = |images: &[(&str, &str)]| Check::PodRunning {
        namespace: "test".into(),
        pod: "pod1".into(),
        image: None,
        images: images
            .iter()
            .map(|(c, i)| (c.to_string(), i.to_string()))
            .collect(),
        containers: None,
        ports: Vec::new(),
    };
    let (status, _) = judge(&check(&[("nginx", "docker.io/library/nginx:1.25")]), &o);
    assert_eq!(status, Status::Passed, "the same image by its full name");
    let (status, evidence) = judge(&check(&[("nginx", "redis:7")]), &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec!["container nginx runs nginx:1.25, not redis:7"]
    );
    let (status, evidence) = judge(&check(&[("app", "nginx:1.25")]), &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(evidence.reasons, vec!["the pod has no container named app"]);
}

#[test]
fn pod_running_checks_the_container_count_and_declared_ports() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    let check = |containers: Option<usize>, ports: Vec<u16>| Check::PodRunning {
        namespace: "test".into(),
        pod: "pod1".into(),
        image: None,
        images: Default::default(),
        containers,
        ports,
    };
    let (status, _) = judge(&check(Some(1), vec![80]), &o);
    assert_eq!(status, Status::Passed);
    let (status, evidence) = judge(&check(Some(2), vec![8080]), &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec![
            "the pod has 1 container(s), not 2",
            "no container declares port 8080"
        ]
    );
}

#[test]
fn a_young_container_creating_pod_is_pending_an_old_one_with_sandbox_errors_failed() {
    let mut o = obs();
    put_pod(&mut o, creating_pod("pod1", 20));
    assert_eq!(judge(&pod_running("pod1"), &o).0, Status::Pending);

    let mut o = obs();
    put_pod(&mut o, creating_pod("pod1", 90));
    let message = "failed to setup network for sandbox \"0d3f\": plugin type=\"flannel\" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory";
    o.pod_events.insert(
        ("test".into(), "pod1".into()),
        vec![warning("pod1", "FailedCreatePodSandBox", message, 5)],
    );
    let (status, evidence) = judge(&pod_running("pod1"), &o);
    assert_eq!(status, Status::Failed);
    assert!(
        evidence.observed.contains("ContainerCreating"),
        "{evidence:?}"
    );
    assert!(
        evidence
            .reasons
            .iter()
            .any(|r| r.starts_with("FailedCreatePodSandBox: failed to setup network")),
        "{evidence:?}"
    );
}

#[test]
fn unschedulable_pods_show_the_taint() {
    let mut o = obs();
    put_pod(&mut o, unschedulable_pod("pod1", 60));
    o.pod_events.insert(
        ("test".into(), "pod1".into()),
        vec![warning("pod1", "FailedScheduling", "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.", 30)],
    );
    let (status, evidence) = judge(&pod_running("pod1"), &o);
    assert_eq!(status, Status::Failed);
    assert!(evidence.observed.contains("Pending"));
    assert!(
        evidence
            .reasons
            .iter()
            .any(|r| r.contains("untolerated taint {node.kubernetes.io/not-ready: }")),
        "{evidence:?}"
    );
}

#[test]
fn crash_loops_carry_the_log_tail() {
    let mut o = obs();
    put_pod(&mut o, port_conflict_pod(120));
    let requested = log_requests(&o);
    assert_eq!(requested.len(), 1);
    let request = requested.into_iter().next().unwrap();
    assert_eq!(
        request,
        (
            "test".into(),
            "multi-container".into(),
            "sidecar".into(),
            true
        )
    );
    o.logs.insert(
        request,
        "2026/11/26 09:59:20 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)\nnginx: [emerg] still could not bind()\n".into(),
    );
    let stable = Check::ContainerStable {
        namespace: "test".into(),
        pod: "multi-container".into(),
        container: "sidecar".into(),
        seconds: 30,
    };
    let (status, evidence) = judge(&stable, &o);
    assert_eq!(status, Status::Failed);
    assert!(evidence.observed.contains("container sidecar is crashing"));
    assert!(
        evidence
            .reasons
            .iter()
            .any(|r| r.contains("CrashLoopBackOff"))
    );
    assert!(
        evidence
            .reasons
            .iter()
            .any(|r| r.contains("last exited: Error (exit code 1), 4 restart(s)"))
    );
    assert_eq!(evidence.logs.len(), 2);
    assert!(
        evidence.logs[0].contains("[sidecar]")
            && evidence.logs[0].contains("Address already in use")
    );

    let ports = Check::UniqueContainerPorts {
        namespace: "test".into(),
        pod: "multi-container".into(),
    };
    let (status, evidence) = judge(&ports, &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec![
            "port 80/TCP is declared by both app and sidecar: only one process in a pod can bind it"
        ]
    );
}

#[test]
fn container_stability_waits_for_the_required_seconds() {
    let stable = Check::ContainerStable {
        namespace: "test".into(),
        pod: "multi-container".into(),
        container: "sidecar".into(),
        seconds: 30,
    };
    let mut o = obs();
    put_pod(&mut o, fixed_multi_pod(12));
    let (status, evidence) = judge(&stable, &o);
    assert_eq!(status, Status::Pending);
    assert!(evidence.observed.contains("12 s of the 30 s"));
    let mut o = obs();
    put_pod(&mut o, fixed_multi_pod(45));
    assert_eq!(judge(&stable, &o).0, Status::Passed);
}

#[test]
fn ips_in_cidr_and_distinct() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    put_pod(&mut o, running_pod("pod2", "10.244.1.2", 300));
    o.nodes = Some(vec![
        node("kubelab-control-plane", true, "10.244.0.0/24"),
        node("kubelab-worker", true, "10.244.1.0/24"),
    ]);
    let in_nodes = Check::PodIpInCidr {
        namespace: "test".into(),
        pod: "pod1".into(),
        cidr: None,
    };
    assert_eq!(judge(&in_nodes, &o).0, Status::Passed);
    let outside = Check::PodIpInCidr {
        namespace: "test".into(),
        pod: "pod1".into(),
        cidr: Some("10.96.0.0/12".into()),
    };
    let (status, evidence) = judge(&outside, &o);
    assert_eq!(status, Status::Failed);
    assert!(evidence.observed.contains("outside 10.96.0.0/12"));
    let distinct = Check::DistinctPodIps {
        namespace: "test".into(),
        pods: vec!["pod1".into(), "pod2".into()],
    };
    let (status, evidence) = judge(&distinct, &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec!["pods pod1 and pod2 share IP 10.244.1.2"]
    );
    put_pod(&mut o, running_pod("pod2", "10.244.1.3", 300));
    assert_eq!(judge(&distinct, &o).0, Status::Passed);
}

#[test]
fn flannel_is_found_wherever_it_runs() {
    let check = Check::DaemonsetReady {
        name: Some("kube-flannel-ds".into()),
        selector: Some("app=flannel".into()),
        namespaces: None,
        images: Default::default(),
    };
    let mut o = obs();
    o.daemonsets = Some(vec![kube_proxy()]);
    let (status, evidence) = judge(&check, &o);
    assert_eq!(status, Status::Failed);
    assert!(
        evidence
            .observed
            .contains("no matching DaemonSet in any namespace")
    );
    assert_eq!(
        evidence.reasons,
        vec!["DaemonSets present: kube-system/kube-proxy"]
    );

    for namespace in ["kube-flannel", "kube-system"] {
        let mut o = obs();
        o.daemonsets = Some(vec![kube_proxy(), flannel(namespace, 2, 2)]);
        let (status, evidence) = judge(&check, &o);
        assert_eq!(status, Status::Passed);
        assert_eq!(
            evidence.observed,
            format!(
                "found in namespace {namespace}: {namespace}/kube-flannel-ds: 2 desired, 2 ready, 2 available"
            )
        );
    }

    let mut o = obs();
    o.daemonsets = Some(vec![flannel("kube-flannel", 2, 1)]);
    let criteria = vec![Criterion {
        id: "f".into(),
        description: "d".into(),
        points: 1,
        check: check.clone(),
    }];
    let ds_needs = super::plan::daemonset_pod_needs(&criteria, &o);
    assert_eq!(
        ds_needs.into_iter().collect::<Vec<_>>(),
        vec![Need::DaemonSetPods(
            "kube-flannel".into(),
            "kube-flannel-ds".into(),
            "app=flannel".into()
        )]
    );
    o.daemonset_pods.insert(
        ("kube-flannel".into(), "kube-flannel-ds".into()),
        vec![crashing_flannel_pod(600)],
    );
    o.logs.insert(
        ("kube-flannel".into(), "kube-flannel-ds-abcde".into(), "kube-flannel".into(), true),
        "I1126 09:58:01 main.go:211] Failed to check br_netfilter: stat /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory\n".into(),
    );
    let (status, evidence) = judge(&check, &o);
    assert_eq!(status, Status::Failed);
    assert!(evidence.observed.contains("2 desired, 1 ready"));
    assert!(
        evidence
            .logs
            .iter()
            .any(|l| l.contains("Failed to check br_netfilter")),
        "{evidence:?}"
    );
}

#[test]
fn nodes_not_ready_say_why() {
    let mut o = obs();
    o.nodes = Some(vec![
        node("kubelab-control-plane", false, "10.244.0.0/24"),
        node("kubelab-worker", true, "10.244.1.0/24"),
    ]);
    let (status, evidence) = judge(&Check::NodesReady {}, &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.observed,
        "1 of 2 node(s) NotReady: kubelab-control-plane"
    );
    assert!(evidence.reasons[0].contains("cni plugin not initialized"));
    assert_eq!(
        evidence.reasons[1],
        "node kubelab-control-plane taints: node.kubernetes.io/not-ready:NoSchedule"
    );
}

#[test]
fn pod_to_pod_runs_a_probe_with_the_target_ip() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    put_pod(&mut o, running_pod("pod2", "10.244.1.3", 300));
    let criteria = vec![Criterion {
        id: "c".into(),
        description: "d".into(),
        points: 3,
        check: pod_to_pod(),
    }];
    let requests = exec_requests(&criteria, &o);
    assert_eq!(requests.len(), 1);
    let request = requests.into_iter().next().unwrap();
    assert!(request.command[2].contains("http://10.244.1.3:80/"));
    assert_eq!(judge(&pod_to_pod(), &o).0, Status::Error, "not run yet");

    o.execs.insert(
        request.clone(),
        Ok(ExecOutput {
            stdout: "HTTP/1.1 200\n".into(),
            stderr: String::new(),
            exit_code: 0,
        }),
    );
    let result = verdict("deploy-two-pods", &criteria, &o);
    assert_eq!(
        (result.score, result.max_score, result.passed),
        (3, 3, true)
    );
    assert!(
        result.criteria[0]
            .evidence
            .command
            .as_ref()
            .unwrap()
            .starts_with("kubectl exec -n test pod1 -- sh -c")
    );

    o.execs.insert(request.clone(), Ok(ExecOutput {
        stdout: "HTTP/1.1 000\n".into(),
        stderr: "curl: (7) Failed to connect to 10.244.1.3 port 80 after 3 ms: Couldn't connect to server".into(),
        exit_code: 7,
    }));
    let (status, evidence) = judge(&pod_to_pod(), &o);
    assert_eq!(status, Status::Failed);
    assert!(evidence.reasons[0].contains("Couldn't connect to server"));

    o.execs.insert(
        request,
        Err("the exec stream closed before the command reported its status".into()),
    );
    assert_eq!(judge(&pod_to_pod(), &o).0, Status::Error);
}

#[test]
fn pod_to_pod_waits_for_the_target() {
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    put_pod(&mut o, creating_pod("pod2", 10));
    assert!(exec_request(&pod_to_pod(), &o).is_none());
    let (status, evidence) = judge(&pod_to_pod(), &o);
    assert_eq!(status, Status::Pending);
    assert!(evidence.observed.contains("target pod pod2 has no IP yet"));
}

#[test]
fn localhost_inside_one_pod() {
    let redis = Check::Localhost {
        namespace: "test".into(),
        pod: "multi-container".into(),
        from_container: "app".into(),
        port: 6379,
        protocol: LocalProtocol::Redis,
    };
    let mut o = obs();
    put_pod(&mut o, fixed_multi_pod(60));
    let request = exec_request(&redis, &o).unwrap();
    assert!(request.command[2].contains("/dev/tcp/127.0.0.1/6379"));
    o.execs.insert(
        request,
        Ok(ExecOutput {
            stdout: "+PONG\r\n".into(),
            stderr: String::new(),
            exit_code: 0,
        }),
    );
    assert_eq!(judge(&redis, &o).0, Status::Passed);

    let from_crashing = Check::Localhost {
        namespace: "test".into(),
        pod: "multi-container".into(),
        from_container: "sidecar".into(),
        port: 80,
        protocol: LocalProtocol::Http,
    };
    let mut o = obs();
    put_pod(&mut o, port_conflict_pod(300));
    let (status, evidence) = judge(&from_crashing, &o);
    assert_eq!(status, Status::Failed);
    assert!(
        evidence
            .observed
            .contains("container sidecar of pod multi-container is not running")
    );
}

#[test]
fn unreadable_objects_are_errors_not_failures() {
    let mut o = obs();
    o.failures.insert(
        Need::Pod("test".into(), "pod1".into()),
        "forbidden: User \"learner\" cannot get pods".into(),
    );
    let (status, evidence) = judge(&pod_running("pod1"), &o);
    assert_eq!(status, Status::Error);
    assert!(evidence.reasons[0].contains("forbidden"));
    o.failures
        .insert(Need::Nodes, "timed out after 15 s".into());
    assert_eq!(judge(&Check::NodesReady {}, &o).0, Status::Error);
}

#[test]
fn needs_cover_every_object_the_checks_read() {
    let criteria = vec![
        Criterion {
            id: "a".into(),
            description: String::new(),
            points: 1,
            check: Check::NamespaceExists {
                namespace: "test".into(),
            },
        },
        Criterion {
            id: "b".into(),
            description: String::new(),
            points: 1,
            check: pod_to_pod(),
        },
        Criterion {
            id: "c".into(),
            description: String::new(),
            points: 1,
            check: Check::PodIpInCidr {
                namespace: "test".into(),
                pod: "pod1".into(),
                cidr: None,
            },
        },
    ];
    let wanted: Vec<Need> = needs(&criteria).into_iter().collect();
    assert_eq!(
        wanted,
        vec![
            Need::Namespace("test".into()),
            Need::Pod("test".into(), "pod1".into()),
            Need::Pod("test".into(), "pod2".into()),
            Need::Nodes,
        ]
    );
}

#[test]
fn a_daemonset_must_run_the_images_of_the_manifest() {
    let check = |image: &str| Check::DaemonsetReady {
        name: Some("kube-flannel-ds".into()),
        selector: None,
        namespaces: None,
        images: [("kube-flannel".to_string(), image.to_string())].into(),
    };
    let mut o = obs();
    o.daemonsets = Some(vec![flannel("kube-flannel", 2, 2)]);
    let (status, evidence) = judge(&check("ghcr.io/flannel-io/flannel:v0.28.9"), &o);
    assert_eq!(status, Status::Passed, "{evidence:?}");
    let (status, evidence) = judge(&check("ghcr.io/flannel-io/flannel:v0.27.0"), &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec![
            "container kube-flannel runs ghcr.io/flannel-io/flannel:v0.28.9, not ghcr.io/flannel-io/flannel:v0.27.0"
        ]
    );
}

#[test]
fn pods_on_different_nodes() {
    let check = Check::PodsOnDifferentNodes {
        namespace: "test".into(),
        pods: vec!["pod1".into(), "pod2".into()],
    };
    let mut o = obs();
    put_pod(&mut o, running_pod("pod1", "10.244.1.2", 300));
    put_pod(&mut o, running_pod("pod2", "10.244.1.3", 300));
    let (status, evidence) = judge(&check, &o);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        evidence.reasons,
        vec!["pods pod1 and pod2 both run on node kubelab-worker"]
    );
    let mut moved = running_pod("pod2", "10.244.0.3", 300);
    if let Some(spec) = moved.spec.as_mut() {
        spec.node_name = Some("kubelab-control-plane".into());
    }
    put_pod(&mut o, moved);
    let (status, evidence) = judge(&check, &o);
    assert_eq!(status, Status::Passed, "{evidence:?}");
    assert_eq!(
        evidence.observed,
        "pod1 kubelab-worker, pod2 kubelab-control-plane"
    );
}
