// The Helm chart (helm/tierscore), checked with a real helm and the
// Kubernetes API models, and its containers' command lines run against the
// built binaries. Run by ctest as `helm_chart` (scripts/helm-test.sh):
//   TIERSCORE_TOOLS  where scripts/helm-tools.sh put helm and node_modules
//   TIERSCORE_BUILD  the CMake build directory (the binaries)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const chart = path.join(repo, "helm/tierscore");
const tools = process.env.TIERSCORE_TOOLS;
const build = process.env.TIERSCORE_BUILD;
assert.ok(tools && build, "TIERSCORE_TOOLS and TIERSCORE_BUILD must be set (scripts/helm-test.sh)");
const helm = path.join(tools, "helm");
const requireTools = createRequire(path.join(tools, "package.json"));
const YAML = requireTools("yaml");

// ---- rendering ------------------------------------------------------------

const valueFiles = {
  default: [],
  "all-on": ["ci/all-on-values.yaml"],
  external: ["ci/external-values.yaml"],
  plaintext: ["ci/plaintext-values.yaml"],
};

function helmRun(args) {
  return spawnSync(helm, args, { cwd: chart, encoding: "utf8" });
}

const rendered = new Map();
function render(name, extra = []) {
  const key = name + JSON.stringify(extra);
  if (!rendered.has(key)) {
    const files = (valueFiles[name] ?? []).flatMap((f) => ["-f", f]);
    const r = helmRun(["template", "rel", ".", "--namespace", "crm", ...files, ...extra]);
    assert.equal(r.status, 0, `helm template (${name}): ${r.stderr}`);
    rendered.set(key, YAML.parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean));
  }
  return rendered.get(key);
}

const byKind = (docs, kind) => docs.filter((d) => d.kind === kind);
const named = (docs, kind, name) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `no ${kind} ${name}`);
  return d;
};

// Workloads and their pod templates.
function pods(docs) {
  const out = [];
  for (const d of docs) {
    if (["Deployment", "StatefulSet"].includes(d.kind)) out.push({ owner: d, pod: d.spec.template });
    if (d.kind === "CronJob") out.push({ owner: d, pod: d.spec.jobTemplate.spec.template });
    if (d.kind === "Pod") out.push({ owner: d, pod: { metadata: d.metadata, spec: d.spec } });
  }
  return out;
}
const component = (p) => p.pod.metadata.labels["app.kubernetes.io/component"];

function matches(selector, labels) {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// ---- schemas ----------------------------------------------------------------

const models = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/PersistentVolumeClaim": "kubernetes-models/v1/PersistentVolumeClaim",
  "v1/Pod": "kubernetes-models/v1/Pod",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/Service": "kubernetes-models/v1/Service",
  "v1/ServiceAccount": "kubernetes-models/v1/ServiceAccount",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/StatefulSet": "kubernetes-models/apps/v1/StatefulSet",
  "batch/v1/CronJob": "kubernetes-models/batch/v1/CronJob",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "autoscaling/v2/HorizontalPodAutoscaler": "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "cert-manager.io/v1/Certificate": "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate",
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
};

async function validateAgainstApi(doc) {
  const id = `${doc.apiVersion}/${doc.kind}`;
  assert.ok(models[id], `${id} ${doc.metadata?.name}: no API model to check it against`);
  // The packages export ES modules only: imported by file.
  const module = await import(pathToFileURL(path.join(tools, "node_modules", `${models[id]}.js`)).href);
  const Model = module[doc.kind];
  new Model(doc).validate(); // throws naming the field
}

// ---- lint -------------------------------------------------------------------

for (const [name, files] of Object.entries(valueFiles)) {
  test(`helm lint --strict passes with ${name} values`, () => {
    const r = helmRun(["lint", "--strict", ".", ...files.flatMap((f) => ["-f", f])]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

test("helm lint rejects values that break the schema, naming the value", () => {
  const bad = [
    [["--set", "worker.replicas=0"], "/worker/replicas"],
    [["--set", "wrokers.replicas=2"], "wrokers"],
    [["--set", "tls.source=vault"], "/tls/source"],
    [["--set", "coordinator.logFormat=xml"], "/coordinator/logFormat"],
    [["--set", "coordinator.port=70000"], "/coordinator/port"],
    [["--set", "auth.callers[0].name=x", "--set", "auth.callers[0].role=root"], "role"],
    [["--set", "redis.bundled=false"], "/redis/external/address"],
    [["--set", "redis.bundled=false", "--set", "redis.external.address=redis://:pw@r:6379"], "address"],
    [["--set", "tls.source=existing"], "/tls/existingSecrets"],
    [["--set", "tls.source=cert-manager"], "/tls/certManager/issuerRef/name"],
    [["--set", "data.mountPath=data"], "/data/mountPath"],
    [["--set", "coordinator.extraArgs[0]=max-criteria=3"], "/coordinator/extraArgs/0"],
    [["--set-string", "policies.bad name=x"], "'bad name' does not match pattern"],
    [["--set", "auth.callers[0].name=d", "--set", "auth.callers[0].role=reader", "--set", "auth.callers[0].aliases[0]=c/x"],
      "/auth/callers/0/aliases"],
    [["--set", "schedule.alias=customers nightly"], "/schedule/alias"],
    [["--set", "schedule.alias=/bad//alias/"], "/schedule/alias"],
    [["--set", "data.mountPath=/"], "/data/mountPath"],
    [["--set", "data.mountPath=/etc/tierscore"], "/data/mountPath"],
    [["--set", "data.accessModes[0]=ReadOnlyMany"], "/data/accessModes/0"],
    [["--set", `fullnameOverride=${"x".repeat(41)}`], "/fullnameOverride"],
    [["--set", "redis.bundled=false", "--set", "redis.external.address=redis://r:6379"], "/networkPolicy/externalRedis"],
  ];
  for (const [args, where] of bad) {
    const r = helmRun(["lint", "--strict", ".", ...args]);
    assert.notEqual(r.status, 0, `accepted: ${args.join(" ")}`);
    assert.ok((r.stdout + r.stderr).includes(where), `${args.join(" ")}: does not name ${where}:\n${r.stdout}`);
  }
});

test("the longest allowed name renders names Kubernetes accepts", () => {
  const docs = render("default", ["--set", `fullnameOverride=${"n".repeat(40)}`, "--set", "schedule.enabled=true",
    "--set", "schedule.inputs[0]=/data/c.csv"]);
  for (const d of docs) {
    const limit = d.kind === "CronJob" ? 52 : d.kind === "StatefulSet" ? 52 : d.kind === "Service" ? 63 : 253;
    assert.ok(d.metadata.name.length <= limit, `${d.kind} ${d.metadata.name}: ${d.metadata.name.length} > ${limit}`);
  }
});

test("the tokens file follows the callers and the alias, keeping every token", () => {
  const tokensOf = (docs) => named(docs, "Secret", "rel-tierscore-tokens").stringData;
  const annotation = (docs) =>
    named(docs, "Deployment", "rel-tierscore-coordinator").spec.template.metadata.annotations["checksum/tokens"];
  const before = render("default");
  const after = render("default", ["--set", "auth.callers[0].name=crm", "--set", "auth.callers[0].role=submitter",
    "--set", "auth.callers[0].aliases[0]=segments/*", "--set", "schedule.alias=customers/weekly"]);
  const file = tokensOf(after).tokens.split("\n").filter((l) => l && !l.startsWith("#"));
  const t = tokensOf(after);
  assert.deepEqual(file, [
    `${t.cronjob} submitter rel-tierscore-schedule customers/weekly`,
    `${t.test} reader rel-tierscore-test`,
    `${t["caller.crm"]} submitter crm segments/*`,
  ]);
  for (const key of ["cronjob", "test", "caller.crm"]) assert.match(t[key], /^[A-Za-z0-9]{32}$/);
  // A change of callers or alias restarts the coordinator, which reads the file at start.
  assert.notEqual(annotation(before), annotation(after));
  assert.equal(annotation(before), annotation(render("default")));
});

test("a scheduled job without inputs, or with an unknown policy, fails to render", () => {
  let r = helmRun(["template", "rel", ".", "--set", "schedule.enabled=true"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /schedule\.inputs or schedule\.datasets/);
  r = helmRun(["template", "rel", ".", "--set", "schedule.enabled=true", "--set", "schedule.inputs[0]=/data/c.csv",
    "--set", "schedule.policy=missing.yaml"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /"missing.yaml" is not a key of policies/);
});

// ---- the rendered manifests ---------------------------------------------------

for (const name of Object.keys(valueFiles)) {
  test(`every manifest rendered with ${name} values is valid for its API`, async () => {
    const docs = render(name);
    assert.ok(docs.length > 5);
    for (const doc of docs) {
      await assert.doesNotReject(validateAgainstApi(doc), `${doc.kind} ${doc.metadata?.name}`);
    }
  });
}

test("the API check can fail: a container port that is not a number is refused", async () => {
  const docs = structuredClone(render("default"));
  const deployment = byKind(docs, "Deployment")[0];
  deployment.spec.template.spec.containers[0].ports[0].containerPort = "grpc";
  await assert.rejects(validateAgainstApi(deployment), /containerPort/);
});

test("the options turn on what they say", () => {
  const kinds = (docs) => new Set(docs.map((d) => d.kind));
  const all = kinds(render("all-on"));
  for (const k of ["Certificate", "CronJob", "HorizontalPodAutoscaler", "ServiceMonitor"]) assert.ok(all.has(k), k);
  assert.equal(byKind(render("all-on"), "PodDisruptionBudget").length, 2);
  const plain = kinds(render("plaintext"));
  for (const k of ["NetworkPolicy", "Certificate", "CronJob", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) {
    assert.ok(!plain.has(k), k);
  }
  const external = render("external");
  assert.ok(!byKind(external, "StatefulSet").length, "an external Redis bundles none");
  assert.ok(!byKind(external, "PersistentVolumeClaim").length, "an existing claim makes none");
  assert.ok(!byKind(external, "Secret").length, "existing Secrets are not made again");
  // The HPA owns the replica count.
  const worker = named(render("all-on"), "Deployment", "rel-tierscore-worker");
  assert.equal(worker.spec.replicas, undefined);
});

function args(container) {
  const out = new Map();
  for (const a of container.args ?? []) {
    const m = /^(--[a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (m) out.set(m[1], m[2] ?? "");
  }
  return out;
}
const containerOf = (docs, kind, name) => named(docs, kind, name).spec.template.spec.containers[0];

for (const name of Object.keys(valueFiles)) {
  test(`the coordinator finds the workers through their headless Service (${name})`, () => {
    const docs = render(name);
    const coordinator = containerOf(docs, "Deployment", "rel-tierscore-coordinator");
    const workers = args(coordinator).get("--workers");
    const m = /^dns:\/\/\/([^.]+)\.([^.]+)\.svc\.cluster\.local:(\d+)$/.exec(workers);
    assert.ok(m, `--workers=${workers}`);
    const [, service, namespace, port] = m;
    assert.equal(namespace, "crm");
    const headless = named(docs, "Service", service);
    assert.equal(headless.spec.clusterIP, "None");
    const worker = named(docs, "Deployment", "rel-tierscore-worker");
    assert.ok(matches({ matchLabels: headless.spec.selector }, worker.spec.template.metadata.labels));
    assert.ok(headless.spec.ports.some((p) => String(p.port) === port));
    const workerPort = worker.spec.template.spec.containers[0].ports.find((p) => p.name === "grpc");
    assert.equal(String(workerPort.containerPort), port);
    assert.equal(args(worker.spec.template.spec.containers[0]).get("--listen"), `0.0.0.0:${port}`);
  });
}

test("probes are gRPC health checks on the plaintext health port, and draining fits the grace period", () => {
  for (const name of Object.keys(valueFiles)) {
    const docs = render(name);
    for (const [deployment, service] of [
      ["rel-tierscore-coordinator", "tierscore.v1.Coordinator"],
      ["rel-tierscore-worker", "tierscore.v1.Worker"],
    ]) {
      const spec = named(docs, "Deployment", deployment).spec.template.spec;
      const c = spec.containers[0];
      const health = c.ports.find((p) => p.name === "health").containerPort;
      assert.equal(args(c).get("--health-listen"), `0.0.0.0:${health}`);
      assert.notEqual(health, c.ports.find((p) => p.name === "grpc").containerPort);
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        assert.equal(c[probe]?.grpc?.port, health, `${deployment} ${probe}`);
      }
      assert.equal(c.readinessProbe.grpc.service, service);
      assert.ok(Number(args(c).get("--grace")) < spec.terminationGracePeriodSeconds, deployment);
    }
  }
});

test("every container runs unprivileged, read-only, with limits", () => {
  for (const name of Object.keys(valueFiles)) {
    for (const p of pods(render(name, ["--set", "schedule.enabled=true", "--set", "schedule.inputs[0]=/data/c.csv"]))) {
      const podContext = p.pod.spec.securityContext ?? {};
      for (const c of p.pod.spec.containers) {
        const where = `${name}: ${p.owner.kind} ${p.owner.metadata.name} ${c.name}`;
        const s = c.securityContext ?? {};
        assert.equal(s.allowPrivilegeEscalation, false, where);
        assert.equal(s.readOnlyRootFilesystem, true, where);
        assert.equal(s.runAsNonRoot ?? podContext.runAsNonRoot, true, where);
        assert.notEqual(s.runAsUser ?? podContext.runAsUser, 0, where);
        assert.deepEqual(s.capabilities?.drop, ["ALL"], where);
        assert.ok(!s.capabilities?.add?.length, where);
        assert.equal((s.seccompProfile ?? podContext.seccompProfile)?.type, "RuntimeDefault", where);
        assert.ok(c.resources?.limits?.cpu && c.resources?.limits?.memory, `${where}: limits`);
        assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${where}: requests`);
      }
    }
  }
});

test("each NetworkPolicy selects the pods it claims, and every pod has one", () => {
  for (const name of ["default", "all-on", "external"]) {
    const docs = render(name, name === "default" ? ["--set", "schedule.enabled=true", "--set", "schedule.inputs[0]=/d/c.csv"] : []);
    const policies = byKind(docs, "NetworkPolicy");
    const all = pods(docs);
    const of = (comp) => all.filter((p) => component(p) === comp);
    const selected = (policy) => all.filter((p) => matches(policy.spec.podSelector, p.pod.metadata.labels));
    for (const p of all) {
      const n = policies.filter((np) => matches(np.spec.podSelector, p.pod.metadata.labels)).length;
      assert.equal(n, 1, `${name}: ${p.owner.kind} ${p.owner.metadata.name} is selected by ${n} policies`);
      assert.ok(policies.find((np) => matches(np.spec.podSelector, p.pod.metadata.labels)).spec.policyTypes.includes("Egress"));
    }
    const claims = { "rel-tierscore-coordinator": "coordinator", "rel-tierscore-worker": "worker", "rel-tierscore-client": "client" };
    if (name !== "external") claims["rel-tierscore-redis"] = "redis";
    for (const [policyName, comp] of Object.entries(claims)) {
      const policy = named(docs, "NetworkPolicy", policyName);
      assert.deepEqual(new Set(selected(policy)), new Set(of(comp)), `${name}: ${policyName}`);
      assert.ok(of(comp).length > 0, `${name}: no ${comp} pods`);
    }
    // Who may reach whom: peers resolved to the release's pods.
    const peers = (rule) => all.filter((p) => (rule.from ?? rule.to ?? []).some((peer) => peer.podSelector && !peer.namespaceSelector &&
      matches(peer.podSelector, p.pod.metadata.labels)));
    const comps = (list) => new Set(list.map(component));
    const coordinator = named(docs, "NetworkPolicy", "rel-tierscore-coordinator").spec;
    const apiRule = coordinator.ingress.find((r) => r.ports.some((p) => p.port === 7000));
    assert.ok(comps(peers(apiRule)).has("client"), `${name}: the release's clients reach the API`);
    assert.ok(!comps(peers(apiRule)).has("worker"));
    const worker = named(docs, "NetworkPolicy", "rel-tierscore-worker").spec;
    const workerRule = worker.ingress.find((r) => r.ports.some((p) => p.port === 7070));
    assert.deepEqual(comps(peers(workerRule)), new Set(["coordinator"]), `${name}: only the coordinator calls workers`);
    for (const [spec, health] of [[coordinator, 7001], [worker, 7071]]) {
      for (const r of spec.ingress.filter((x) => !x.from)) {
        assert.deepEqual(r.ports.map((x) => x.port), [health], `${name}: only the health port is open to all`);
      }
    }
    assert.deepEqual(comps(peers(coordinator.egress.find((r) => r.ports?.some((p) => p.port === 7070)))), new Set(["worker"]));
    if (name !== "external") {
      const redis = named(docs, "NetworkPolicy", "rel-tierscore-redis").spec;
      assert.deepEqual(comps(peers(redis.ingress[0])), new Set(["coordinator", "worker"]));
      assert.deepEqual(redis.egress, []);
      for (const spec of [coordinator, worker]) {
        assert.deepEqual(comps(peers(spec.egress.find((r) => r.ports?.some((p) => p.port === 6379)))), new Set(["redis"]));
      }
    } else {
      for (const spec of [coordinator, worker]) {
        assert.ok(spec.egress.some((r) => r.to?.some((peer) => peer.ipBlock?.cidr === "10.0.40.0/24")), "external Redis egress");
      }
    }
  }
});

test("the chart's default policy and KPI spec are the repository's examples", () => {
  const values = YAML.parse(fs.readFileSync(path.join(chart, "values.yaml"), "utf8"));
  assert.equal(values.policies["value_ladder.yaml"], fs.readFileSync(path.join(repo, "examples/policies/value_ladder.yaml"), "utf8"));
  assert.equal(values.kpis["by_tier_segment.yaml"], fs.readFileSync(path.join(repo, "examples/kpis/by_tier_segment.yaml"), "utf8"));
});

// ---- the containers' command lines against the built binaries ----------------

const binaries = {
  "/usr/bin/tierscore-coordinator": path.join(build, "coordinator/tierscore-coordinator"),
  "/usr/bin/tierscore-worker": path.join(build, "worker/tierscore-worker"),
  "/usr/bin/tierscore": path.join(build, "client/tierscore"),
};

// Secrets that the chart does not make (cert-manager's, existing ones) are
// made here: certificates from scripts/dev-certs.sh, fresh tokens.
let devCerts;
function secretData(docs, name) {
  const made = docs.find((d) => d.kind === "Secret" && d.metadata.name === name);
  if (made) {
    const data = { ...(made.stringData ?? {}) };
    for (const [k, v] of Object.entries(made.data ?? {})) data[k] = Buffer.from(v, "base64").toString();
    return data;
  }
  if (!devCerts) {
    devCerts = fs.mkdtempSync(path.join(os.tmpdir(), "chart-certs-"));
    execFileSync("bash", [path.join(repo, "scripts/dev-certs.sh"), devCerts]);
  }
  const read = (f) => fs.readFileSync(path.join(devCerts, f), "utf8");
  const component = /worker/.test(name) ? "worker" : "coordinator";
  return {
    "ca.crt": read("ca.pem"), "tls.crt": read(`${component}.pem`), "tls.key": read(`${component}.key`),
    password: "a-redis-password",
    tokens: "0123456789abcdef0123456789abcdef submitter schedule customers/nightly\n",
    cronjob: "0123456789abcdef0123456789abcdef", test: "0123456789abcdef0123456789abcdef",
  };
}

// Lays the container's volumes out under `root` (each mountPath as
// root/mountPath, filled from its Secret or ConfigMap) and returns its
// command line and environment with those paths.
function materialize(docs, pod, container, root, owner = null) {
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const m of mounts) {
    const claims = (owner?.spec?.volumeClaimTemplates ?? []).map((c) => ({ name: c.metadata.name, persistentVolumeClaim: {} }));
    const volume = [...pod.spec.volumes, ...claims].find((v) => v.name === m.name);
    assert.ok(volume, `${container.name}: volume ${m.name} is mounted but not declared`);
    const dir = path.join(root, m.mountPath);
    fs.mkdirSync(dir, { recursive: true });
    let data = null;
    let items = null;
    if (volume.secret) {
      data = secretData(docs, volume.secret.secretName);
      items = volume.secret.items;
    } else if (volume.configMap) {
      data = named(docs, "ConfigMap", volume.configMap.name).data;
      items = volume.configMap.items;
    }
    if (!data) continue;
    const files = items ? items.map((i) => [i.key, i.path]) : Object.keys(data).map((k) => [k, k]);
    for (const [key, file] of files) {
      assert.ok(key in data, `${container.name}: ${m.name} has no key ${key}`);
      if (m.subPath && !file.startsWith(m.subPath + "/")) continue;
      const target = path.join(dir, m.subPath ? file.slice(m.subPath.length + 1) : file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data[key]);
    }
  }
  // A path under a mount (an argument, the value of --flag=, or of a
  // variable) moves under root; mounts are tried longest first.
  const rewrite = (s) => {
    const eq = s.startsWith("--") ? s.indexOf("=") + 1 : 0;
    const value = s.slice(eq);
    const m = mounts.find((x) => value === x.mountPath || value.startsWith(x.mountPath + "/"));
    return m ? s.slice(0, eq) + path.join(root, value) : s;
  };
  const binary = binaries[container.command[0]];
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("TIERSCORE_")) delete env[k];
  for (const e of container.env ?? []) env[e.name] = rewrite(e.value);
  return { binary, args: (container.args ?? []).map(rewrite), env };
}

function checkCommand(docs, p, container) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "chart-pod-"));
  try {
    const { binary, args: argv, env } = materialize(docs, p.pod, container, root, p.owner);
    assert.ok(binary, `${container.name}: unknown command ${container.command[0]}`);
    const check = binary.endsWith("/tierscore") ? ["--check-args", ...argv] : [...argv, "--check-config"];
    return spawnSync(binary, check, { env, encoding: "utf8" });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

for (const name of Object.keys(valueFiles)) {
  test(`each container's command line is accepted by its binary (${name})`, () => {
    const docs = render(name, ["--set", "schedule.enabled=true", "--set", "schedule.inputs[0]=/data/c.csv",
      "--set", "schedule.kpis=by_tier_segment.yaml"]);
    let checked = 0;
    for (const p of pods(docs)) {
      for (const c of p.pod.spec.containers) {
        if (!c.command?.[0]?.startsWith("/usr/bin/tierscore")) continue; // Redis
        const r = checkCommand(docs, p, c);
        assert.equal(r.status, 0, `${p.owner.kind} ${p.owner.metadata.name}: ${r.stderr}${r.stdout}`);
        checked++;
      }
    }
    assert.equal(checked, 4, "coordinator, worker, scheduled job and test");
  });
}

test("the command-line check fails on a renamed flag, a missing file or a bad token file", () => {
  const docs = render("default");
  const p = pods(docs).find((x) => component(x) === "coordinator");
  const c = p.pod.spec.containers[0];
  let r = checkCommand(docs, p, { ...c, args: [...c.args, "--max-runing=3"] });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /max-runing/);
  r = checkCommand(docs, p, { ...c, args: c.args.map((a) => a.replace("tls.crt", "tls.pem")) });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /tls\.pem/);
  // A data dir the coordinator could not write (here: a file) is found too.
  r = checkCommand(docs, p, { ...c, args: c.args.map((x) => x.startsWith("--data-dir=") ? "--data-dir=/etc/hostname" : x) });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /data dir \/etc\/hostname: \/etc\/hostname is not a directory this process may write to/);
  const withBadTokens = structuredClone(docs);
  const tokens = withBadTokens.find((d) => d.metadata.name === "rel-tierscore-tokens");
  tokens.stringData.tokens = "short reader x\n";
  r = checkCommand(withBadTokens, p, c);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /tokens:1: the token is shorter than 16 characters/);
  const cron = pods(render("default", ["--set", "schedule.enabled=true", "--set", "schedule.inputs[0]=/d/c.csv"]))
    .find((x) => x.owner.kind === "CronJob");
  const submit = cron.pod.spec.containers[0];
  r = checkCommand(docs, cron, { ...submit, args: [...submit.args, "--no-such-flag"] });
  assert.equal(r.status, 2);
});

test("the chart's policies and KPI specs are valid", () => {
  const docs = render("default");
  const data = named(docs, "ConfigMap", "rel-tierscore-config").data;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-policies-"));
  try {
    for (const [key, text] of Object.entries(data)) fs.writeFileSync(path.join(dir, key), text);
    const policies = Object.keys(data).filter((k) => k.startsWith("policy."));
    const kpis = Object.keys(data).filter((k) => k.startsWith("kpis."));
    assert.ok(policies.length && kpis.length);
    for (const policy of policies) {
      for (const spec of kpis) {
        const r = spawnSync(binaries["/usr/bin/tierscore"], ["policy", "validate", path.join(dir, policy), "--kpis", path.join(dir, spec)], { encoding: "utf8" });
        assert.equal(r.status, 0, `${policy} with ${spec}: ${r.stderr}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("chart-made certificates name what the pods are reached and checked by", () => {
  const docs = render("default");
  const names = (secret) => {
    const pem = Buffer.from(named(docs, "Secret", secret).data["tls.crt"], "base64").toString();
    return execFileSync("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: pem, encoding: "utf8" });
  };
  const coordinator = names("rel-tierscore-coordinator-tls");
  for (const n of ["tierscore-coordinator", "rel-tierscore-coordinator.crm.svc", "localhost"]) assert.ok(coordinator.includes(`DNS:${n}`), n);
  assert.ok(names("rel-tierscore-worker-tls").includes("DNS:tierscore-worker"));
  // What the servers check the other side's certificate against.
  const w = args(containerOf(docs, "Deployment", "rel-tierscore-worker"));
  assert.equal(w.get("--tls-client-name"), "tierscore-coordinator");
  assert.equal(args(containerOf(docs, "Deployment", "rel-tierscore-coordinator")).get("--worker-tls-server-name"), "tierscore-worker");
});

test("the bundled Redis starts from the rendered command with the Secret's password, and stops on SIGTERM", async () => {
  const docs = structuredClone(render("default"));
  const redisSecret = named(docs, "Secret", "rel-tierscore-redis");
  redisSecret.stringData.password = 'p"a\\x41ss'; // a quote and a backslash survive
  const set = named(docs, "StatefulSet", "rel-tierscore-redis");
  const pod = set.spec.template;
  const container = pod.spec.containers[0];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "chart-redis-"));
  try {
    materialize(docs, pod, container, root, set);
    // The config listens on a unix socket here instead of port 6379.
    const conf = path.join(root, "etc/redis-conf/redis.conf");
    const socket = path.join(root, "redis.sock");
    fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace("port 6379", `port 0\nunixsocket ${socket}`)
      .replace("dir /data", `dir ${path.join(root, "data")}`));
    let shell = container.args[0];
    for (const dir of ["/etc/redis-conf", "/etc/redis-auth", "/run/redis"]) shell = shell.replaceAll(dir, path.join(root, dir));
    assert.deepEqual(container.command, ["/bin/sh", "-c"]);
    const { spawn } = await import("node:child_process");
    const redis = spawn("/bin/sh", ["-c", shell], { stdio: "ignore" });
    const exited = new Promise((resolve) => redis.on("exit", (code, signal) => resolve({ code, signal })));
    let pong = "";
    for (let i = 0; i < 100 && pong !== "PONG"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = spawnSync("redis-cli", ["-s", socket, "--no-auth-warning", "-a", 'p"a\\x41ss', "ping"], { encoding: "utf8" });
      pong = r.stdout.trim();
    }
    assert.equal(pong, "PONG", "redis-server accepts the Secret's password");
    const wrong = spawnSync("redis-cli", ["-s", socket, "--no-auth-warning", "-a", "pAss", "ping"], { encoding: "utf8" });
    assert.notEqual(wrong.stdout.trim(), "PONG");
    assert.ok(!fs.readFileSync(path.join(root, "etc/redis-conf/redis.conf"), "utf8").includes("requirepass"));
    redis.kill("SIGTERM"); // the container's PID 1: redis-server itself
    const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 10000))]);
    assert.notEqual(end, "still running", "SIGTERM reaches redis-server");
    const after = spawnSync("redis-cli", ["-s", socket, "--no-auth-warning", "-a", 'p"a\\x41ss', "ping"], { encoding: "utf8" });
    assert.notEqual(after.stdout.trim(), "PONG", "redis-server itself stopped, not only a shell before it");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
