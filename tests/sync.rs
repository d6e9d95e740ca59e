//! The sync verb through the CLI: many copies from a list, one failure that
//! does not stop the rest, identical images skipped, shared blobs moved once.

mod common;

use common::registry::Registry;
use common::*;

#[test]
fn five_jobs_with_one_bad_source() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let one = make_image(&a, "1", b"one\n");
    let two = make_image(&a, "2", b"two\n");
    let list = tmp.path().join("sync.list");
    std::fs::write(
        &list,
        format!(
            "# a mirror\n{} {}\n{} {}\n\n{} {}\n{} {}\n{} {}\n",
            oci(&a, "1"),
            registry.image("mirror/one:1"),
            oci(&a, "2"),
            registry.image("mirror/two:1"),
            oci(&a, "missing"),
            oci(&b, "never"),
            oci(&a, "1"),
            oci(&b, "1"),
            registry.image("mirror/one:1"),
            oci(&b, "from-registry"),
        ),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args([
                "--tls-verify=false",
                "sync",
                "--json",
                list.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(!out.status.success(), "a failed job fails the command");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 of 5 copies failed"), "{stderr}");
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["copied", "copied", "failed", "copied", "copied"]);
    assert_eq!(results[2]["outcome"]["kind"], "not_found");
    assert!(results[2]["outcome"]["message"]
        .as_str()
        .unwrap()
        .contains("missing"));
    assert_eq!(results[0]["outcome"]["digest"], one.digest().to_string());
    assert_eq!(results[1]["outcome"]["digest"], two.digest().to_string());
    // The layer both images share went to the registry once, then was
    // mounted by whichever of the two parallel jobs came second.
    let sum = |key: &str, jobs: [usize; 2]| {
        jobs.iter()
            .map(|&i| results[i]["outcome"][key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("blobs_mounted", [0, 1]), 1);
    // Jobs 4 and 5 write the same image into one layout: the second finds
    // every blob there.
    assert_eq!(sum("blobs_skipped", [3, 4]), 3);
    tool_ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &registry.image("mirror/two:1"),
        ],
    );

    // Again: the four good jobs find their images identical.
    let results: Vec<serde_json::Value> = serde_json::from_slice(&run().stdout).unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["skipped", "skipped", "failed", "skipped", "skipped"]
    );
}
