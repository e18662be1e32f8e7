//! The report: one JSON object (ratios and targets included), and a table for people.

use crate::flood::Flood;
use crate::measure::Percentiles;
use crate::register::ModeResult;
use crate::storm::Storm;

/// Everything one run measured.
pub(crate) struct Results {
    /// Register at the default `sync_interval`.
    pub(crate) default: ModeResult,
    /// Register again with `sync_interval: always`, unless skipped.
    pub(crate) always: Option<ModeResult>,
    pub(crate) admin_get: Percentiles,
    pub(crate) admin_get_errors: usize,
    pub(crate) agents: usize,
    pub(crate) storm_per_s: f64,
    pub(crate) storm_errors: usize,
    pub(crate) argon2_ceiling: f64,
    pub(crate) flood: Flood,
    pub(crate) worker_rss_mib: f64,
    pub(crate) storm: Storm,
}

/// The JSON report (the shape of docs/bench-run*.json).
pub(crate) fn json(r: &Results) -> serde_json::Value {
    let d = &r.default;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let mut report = serde_json::json!({
        "machine": machine(),
        "register_per_s": d.register_per_s,
        "register_floor_per_s": d.register_floor_per_s,
        "register_p50_us": d.register.p50_us,
        "register_floor_p50_us": d.register_floor.p50_us,
        "register_p99_us": d.register.p99_us,
        "register_floor_p99_us": d.register_floor.p99_us,
        "register_errors": d.register_errors,
        "admin_get_p50_us": r.admin_get.p50_us,
        "admin_get_p99_us": r.admin_get.p99_us,
        "admin_get_errors": r.admin_get_errors,
        "enroll_storm_per_s": r.storm_per_s,
        "enroll_storm_agents": r.agents,
        "enroll_storm_errors": r.storm_errors,
        "argon2_ceiling_per_s": r.argon2_ceiling,
        "flood_register_p99_us": r.flood.flooded.p99_us,
        "unloaded_register_p99_us": r.flood.unloaded.p99_us,
        "flood_wrong_keys_sent": r.flood.sent,
        "flood_wrong_keys_per_s": r.flood.sent as f64 / r.flood.elapsed.as_secs_f64().max(0.001),
        "flood_measured_secs": r.flood.elapsed.as_secs_f64(),
        "flood_register_errors": r.flood.failures,
        "worker_rss_mib": r.worker_rss_mib,
        "register_cpu_us": d.register_cpu,
        "register_floor_cpu_us": d.floor_cpu,
        "ratios": {
            "register_throughput_vs_floor": ratio(d.register_per_s, d.register_floor_per_s),
            "register_p50_vs_floor": ratio(d.register.p50_us as f64, d.register_floor.p50_us as f64),
            "enroll_storm_vs_argon2_ceiling": ratio(r.storm_per_s, r.argon2_ceiling),
            "flood_p99_vs_unloaded": ratio(r.flood.flooded.p99_us as f64, r.flood.unloaded.p99_us as f64),
        },
    });
    let q = &report["ratios"];
    let met = serde_json::json!({
        "register_throughput_ge_0_7": q["register_throughput_vs_floor"].as_f64().unwrap_or(0.0) >= 0.7,
        "register_p50_le_1_3": q["register_p50_vs_floor"].as_f64().unwrap_or(f64::MAX) <= 1.3,
        "enroll_storm_ge_15": q["enroll_storm_vs_argon2_ceiling"].as_f64().unwrap_or(0.0) >= 15.0,
        "flood_p99_le_2": q["flood_p99_vs_unloaded"].as_f64().unwrap_or(f64::MAX) <= 2.0,
        "worker_rss_le_64_mib": r.worker_rss_mib <= 64.0,
    });
    report["targets_met"] = met;
    report["reconnect_storm"] = serde_json::json!(r.storm);
    if let Some(a) = &r.always {
        report["sync_always"] = serde_json::json!({
            "register_per_s": a.register_per_s,
            "register_floor_per_s": a.register_floor_per_s,
            "register_p50_us": a.register.p50_us,
            "register_floor_p50_us": a.register_floor.p50_us,
            "register_p99_us": a.register.p99_us,
            "register_floor_p99_us": a.register_floor.p99_us,
            "register_errors": a.register_errors,
            "register_throughput_vs_floor": ratio(a.register_per_s, a.register_floor_per_s),
            "register_p50_vs_floor": ratio(a.register.p50_us as f64, a.register_floor.p50_us as f64),
        });
    }
    report
}

fn machine() -> serde_json::Value {
    serde_json::json!({ "cores": std::thread::available_parallelism().map_or(0, |n| n.get()), "nats_server": "2.15.1" })
}

/// The report of `--storm` alone.
pub(crate) fn storm_only(s: &Storm) -> serde_json::Value {
    serde_json::json!({ "machine": machine(), "reconnect_storm": s })
}

/// The reconnect storm's lines of the table.
fn storm_table(s: &serde_json::Value) -> String {
    let f = |k: &str| s[k].as_f64().unwrap_or(0.0);
    let mut out = format!(
        "reconnect storm, {:.0} clients ({:.0} users, {:.0} machines), nats-server killed and restarted:\n",
        f("clients"),
        f("users"),
        f("machines")
    );
    out.push_str(&format!(
        "  server back / all admitted    {:>10.0} ms / {:.0} ms after the kill ({:.0} ms after the server was back)\n",
        f("server_restart_ms"),
        f("all_admitted_ms"),
        f("all_admitted_after_ready_ms")
    ));
    let r = &s["readmitted_after_ready_ms"];
    out.push_str(&format!(
        "  readmitted p50 / p99 (ms)     {:>10} / {}   (each client, from the server back)\n",
        r["p50"], r["p99"]
    ));
    out.push_str(&format!(
        "  admissions/s                  {:>10.0}    (first connects, 64 at a time: {:.0}/s)\n",
        f("admissions_per_s"),
        f("initial_connect_per_s")
    ));
    out.push_str(&format!(
        "  callout p50 / p99 (us)        {:>10.0} / {:.0}   ({:.0} answers, refusals {})\n",
        f("callout_p50_us"),
        f("callout_p99_us"),
        f("callout_answers"),
        s["callout_denied"]
    ));
    out.push_str(&format!(
        "  connected at the end          {:>10.0}\n  worker peak RSS (MiB)         {:>10.1}\n",
        f("connected_at_end"),
        f("worker_rss_mib")
    ));
    out
}

/// A table for people.
pub(crate) fn table(r: &serde_json::Value) -> String {
    if r.get("register_per_s").is_none() {
        return storm_table(&r["reconnect_storm"]);
    }
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let ratio = |k: &str| r["ratios"][k].as_f64().unwrap_or(0.0);
    let ok = |k: &str| {
        if r["targets_met"][k].as_bool().unwrap_or(false) {
            "yes"
        } else {
            "NO"
        }
    };
    let mut out = String::new();
    out.push_str(
        "measure                         roster        raw floor     ratio   target   met\n",
    );
    out.push_str(&format!(
        "register/s, {} in flight        {:>10.0}    {:>10.0}    {:>5.2}   >= 0.70  {}\n",
        64,
        f("register_per_s"),
        f("register_floor_per_s"),
        ratio("register_throughput_vs_floor"),
        ok("register_throughput_ge_0_7")
    ));
    out.push_str(&format!(
        "register p50 (us)               {:>10.0}    {:>10.0}    {:>5.2}   <= 1.30  {}\n",
        f("register_p50_us"),
        f("register_floor_p50_us"),
        ratio("register_p50_vs_floor"),
        ok("register_p50_le_1_3")
    ));
    out.push_str(&format!(
        "register p99 (us)               {:>10.0}    {:>10.0}\n",
        f("register_p99_us"),
        f("register_floor_p99_us")
    ));
    out.push_str(&format!(
        "user.get p50 / p99 (us)         {:>10.0} / {:.0}\n",
        f("admin_get_p50_us"),
        f("admin_get_p99_us")
    ));
    out.push_str(&format!(
        "enroll storm/s vs Argon2/s      {:>10.0}    {:>10.1}    {:>5.1}   >= 15    {}\n",
        f("enroll_storm_per_s"),
        f("argon2_ceiling_per_s"),
        ratio("enroll_storm_vs_argon2_ceiling"),
        ok("enroll_storm_ge_15")
    ));
    out.push_str(&format!(
        "register p99 flood/unloaded us  {:>10.0}    {:>10.0}    {:>5.2}   <= 2.00  {}\n",
        f("flood_register_p99_us"),
        f("unloaded_register_p99_us"),
        ratio("flood_p99_vs_unloaded"),
        ok("flood_p99_le_2")
    ));
    out.push_str(&format!(
        "worker peak RSS (MiB)           {:>10.1}                          <= 64    {}\n",
        f("worker_rss_mib"),
        ok("worker_rss_le_64_mib")
    ));
    let cpu = |k: &str| {
        let c = &r[k];
        let g = |f: &str| c[f].as_f64().unwrap_or(0.0);
        format!(
            "{:.0} / {:.0} / {:.0}",
            g("server_us"),
            g("responder_us"),
            g("client_us")
        )
    };
    out.push_str(&format!(
        "CPU us/op server/worker/client  {:>14}  {:>14}\n",
        cpu("register_cpu_us"),
        cpu("register_floor_cpu_us")
    ));
    if let Some(a) = r.get("sync_always") {
        let g = |k: &str| a[k].as_f64().unwrap_or(0.0);
        out.push_str(&format!(
            "sync always: register/s        {:>10.0}    {:>10.0}    {:>5.2}\n",
            g("register_per_s"),
            g("register_floor_per_s"),
            g("register_throughput_vs_floor")
        ));
        out.push_str(&format!(
            "sync always: register p50 (us) {:>10.0}    {:>10.0}    {:>5.2}\n",
            g("register_p50_us"),
            g("register_floor_p50_us"),
            g("register_p50_vs_floor")
        ));
    }
    out.push_str(&storm_table(&r["reconnect_storm"]));
    out
}
