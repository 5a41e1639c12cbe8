//! `deploy/`: the Kubernetes manifests are valid YAML, their names agree with each other
//! and with the server's settings, and `holoscale serve --check` accepts the settings.

use std::collections::BTreeSet;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::{holoscale, run};

fn docs(file: &str) -> Vec<Yaml> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", path.display()))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn s<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
}

#[test]
fn the_manifests_are_valid_and_consistent() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let kustomization = &docs("kustomization.yaml")[0];
    let resources: Vec<&str> = kustomization["resources"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|r| s(r, "resource"))
        .collect();
    for r in &resources {
        assert!(
            deploy.join(r).is_file(),
            "kustomization lists {r}, which is missing"
        );
    }
    let generated = &kustomization["configMapGenerator"][0];
    let config_map = s(&generated["name"], "configMap name");
    for f in generated["files"].as_vec().unwrap() {
        assert!(deploy.join(s(f, "file")).is_file());
    }

    let all: Vec<Yaml> = resources.iter().flat_map(|r| docs(r)).collect();
    let kind = |k: &'static str| all.iter().filter(move |d| d["kind"].as_str() == Some(k));
    let deployment = kind("Deployment").next().expect("a Deployment");
    let service = kind("Service").next().expect("a Service");
    let claim = kind("PersistentVolumeClaim")
        .next()
        .expect("the model's claim");
    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_hash().unwrap() {
        assert_eq!(
            &labels[s(k, "label")],
            v,
            "the Service selects the Deployment's pods"
        );
    }
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], *labels);
    let volumes = pod["spec"]["volumes"].as_vec().unwrap();
    let by_name = |n: &str| {
        volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(n))
            .unwrap()
    };
    assert_eq!(
        s(&by_name("config")["configMap"]["name"], "configMap"),
        config_map
    );
    assert_eq!(
        by_name("models")["persistentVolumeClaim"]["claimName"],
        claim["metadata"]["name"]
    );
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| s(a, "arg"))
        .collect();
    assert_eq!(args, ["serve", "--config", "/etc/holoscale/serve.toml"]);
    let mount = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str() == Some("config"))
        .unwrap();
    assert_eq!(s(&mount["mountPath"], "mountPath"), "/etc/holoscale");
    // The ports: the Service's grpc port is what every ScaledObject dials.
    let grpc_port = service["spec"]["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("grpc"))
        .unwrap()["port"]
        .as_i64()
        .unwrap();
    let address = format!(
        "{}.default.svc.cluster.local:{grpc_port}",
        s(&service["metadata"]["name"], "Service name")
    );
    let settings = std::fs::read_to_string(deploy.join("serve.toml")).unwrap();
    assert!(settings.contains(&format!("grpc_listen = \"0.0.0.0:{grpc_port}\"")));

    let app = holoscale::sim::apps::builtin("online-boutique", 7).unwrap();
    let services: BTreeSet<&str> = app.services.iter().map(|s| s.name.as_str()).collect();
    let mut scaled = BTreeSet::new();
    for so in kind("ScaledObject") {
        let trigger = &so["spec"]["triggers"][0];
        assert_eq!(s(&trigger["type"], "trigger type"), "external");
        assert_eq!(
            s(&trigger["metadata"]["scalerAddress"], "scalerAddress"),
            address
        );
        let svc = s(&trigger["metadata"]["service"], "service");
        assert!(
            services.contains(svc),
            "ScaledObject for unknown service {svc}"
        );
        assert_eq!(s(&so["spec"]["scaleTargetRef"]["name"], "target"), svc);
        assert_eq!(
            s(&so["metadata"]["name"], "name"),
            format!("{svc}-holoscale")
        );
        let (min, max) = (
            so["spec"]["minReplicaCount"].as_i64().unwrap(),
            so["spec"]["maxReplicaCount"].as_i64().unwrap(),
        );
        assert!(1 <= min && min <= max, "{svc}: {min}..{max}");
        scaled.insert(svc);
    }
    assert_eq!(scaled, services, "one ScaledObject per service");

    // The settings parse and pass `serve --check` once the model is a rule (the image has
    // no model at build time; the model path is checked in the cluster).
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = app
        .services
        .iter()
        .map(|s| format!("\"{}\"", s.name))
        .collect();
    let rule = settings.replace(
        "scalers = [\"deepscaler:/models/ob-model\", \"hpa\"]",
        &format!("scalers = [\"hpa\"]\nservices = [{}]", names.join(", ")),
    );
    assert_ne!(
        rule, settings,
        "serve.toml names the model as the test expects"
    );
    let file = tmp.path().join("serve.toml");
    std::fs::write(&file, rule).unwrap();
    run(
        holoscale()
            .args(["-q", "serve", "--check", "--config"])
            .arg(&file),
        true,
    );
    // And with the model path as written, `--check` names the missing model.
    std::fs::write(&file, &settings).unwrap();
    let out = run(
        holoscale()
            .args(["-q", "serve", "--check", "--config"])
            .arg(&file),
        false,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/models/ob-model"), "{err}");
}
