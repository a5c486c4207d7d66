# Sourced by the metal benchmarks: `fake_devices N PROJECT > devices.json` writes N devices
# tagged "ipmi" in PROJECT (node-0..node-N-1), for `ipmi-to-metal fake-metal --devices`.
fake_devices() {
    python3 - "$1" "$2" <<'PY'
import json, sys
n, project = int(sys.argv[1]), sys.argv[2]
print(json.dumps([{"id": f"6e2b7f4c-3c1a-4a5e-9d7e-{i:012d}", "hostname": f"node-{i}",
                   "project_id": project, "tags": ["ipmi"]} for i in range(n)]))
PY
}
