//! HTTP load generator for `scripts/bench` (see BENCHMARKS.md). Not a test and not shipped: a `harness = false` bench
//! target, run as `cargo bench -p server --bench http -- --base URL --email E --password P [options] PATH...`.
//!
//! Closed loop: `--concurrency` workers, each signed in with its own session on its own keep-alive connection, send
//! one request at a time. `--warmup` requests are sent first and thrown away; then `--requests` requests are timed,
//! each from just before it is sent until its whole body has been read. Every latency is kept (a sorted `Vec`, no
//! histogram buckets); p50 and p99 are nearest-rank percentiles; throughput is the timed requests over the wall time
//! of the timed phase.
//!
//! Paths are requested in turn (`{pipeline}` is replaced by the first pipeline's id). With `--moves`, each request is
//! a deal move instead: `PATCH /api/deals/{id}` with `{version, stage_id}` sending a card of the first pipeline's board
//! to the next open stage; each worker moves its own cards, and a 409 (stale version) is answered by re-reading the
//! deal and counted, not timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, ORIGIN, SET_COOKIE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "http",
    about = "Closed-loop HTTP load generator for the Clearview API"
)]
struct Args {
    /// The server's origin, e.g. http://127.0.0.1:3310 (also sent as the Origin header).
    #[arg(long)]
    base: String,
    /// Login of the workspace to measure.
    #[arg(long)]
    email: String,
    #[arg(long, env = "BENCH_PASSWORD", hide_env_values = true)]
    password: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Timed requests (over all connections).
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// Requests sent before timing starts, not counted.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    #[arg(long, default_value = "GET")]
    method: String,
    /// JSON body sent with every request.
    #[arg(long)]
    body: Option<String>,
    /// Name of this measurement in the output.
    #[arg(long, default_value = "requests")]
    label: String,
    /// Move deals between open stages instead of requesting PATHS.
    #[arg(long)]
    moves: bool,
    /// Paths requested in turn; `{pipeline}` is the first pipeline's id.
    paths: Vec<String>,
    /// The server's process id: its CPU time over the timed phase is reported per request.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The PostgreSQL postmaster's process id: the CPU time of it and its children is reported per request.
    #[arg(long)]
    postmaster_pid: Option<u32>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One worker: its own client (one connection), session and, for moves, its own cards.
struct Worker {
    client: Client,
    headers: HeaderMap,
    cards: Vec<Card>,
    next: usize,
}

#[derive(Clone)]
struct Card {
    id: String,
    version: i64,
    stage: usize,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    errors: usize,
    conflicts: usize,
    first_error: Option<String>,
}

struct Plan {
    args: Args,
    method: Method,
    paths: Vec<String>,
    stages: Vec<String>,
}

/// CPU time in clock ticks (`/proc`, 100 per second) of the processes a measurement involves, and of the whole machine.
struct CpuSample {
    server: u64,
    postgres: u64,
    generator: u64,
    busy: u64,
}

/// CPU milliseconds per timed request.
struct CpuPerRequest {
    server: f64,
    postgres: f64,
    generator: f64,
    /// Busy time of the machine not spent by the three above: other work sharing the cores (or the hypervisor).
    other: f64,
}

impl CpuPerRequest {
    fn tsv(&self) -> String {
        format!(
            "{:.2}\t{:.2}\t{:.2}\t{:.2}",
            self.server, self.postgres, self.generator, self.other
        )
    }
}

/// utime + stime (+ the reaped children's times with `children`) of a process.
fn process_ticks(pid: u32, children: bool) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may contain spaces), starting at the state (field 3).
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    field(14) + field(15) + if children { field(16) + field(17) } else { 0 }
}

/// Live children of `parent` (from each process's parent id).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()?
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                })
                == Some(parent)
        })
        .collect()
}

impl CpuSample {
    fn take(args: &Args) -> Self {
        let busy = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let line = s.lines().next()?.to_owned();
                let v: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .map(|f| f.parse().unwrap_or(0))
                    .collect();
                // user nice system idle iowait irq softirq steal
                Some(
                    v.iter().take(8).sum::<u64>()
                        - v.get(3).copied().unwrap_or(0)
                        - v.get(4).copied().unwrap_or(0),
                )
            })
            .unwrap_or(0);
        let postgres = args.postmaster_pid.map_or(0, |pm| {
            process_ticks(pm, true)
                + children_of(pm)
                    .into_iter()
                    .map(|p| process_ticks(p, false))
                    .sum::<u64>()
        });
        Self {
            server: args.server_pid.map_or(0, |p| process_ticks(p, false)),
            postgres,
            generator: process_ticks(std::process::id(), false),
            busy,
        }
    }

    fn per_request_since(&self, before: &Self, requests: usize) -> CpuPerRequest {
        let ms = |ticks: u64| ticks as f64 * 10.0 / requests.max(1) as f64;
        let server = self.server.saturating_sub(before.server);
        let postgres = self.postgres.saturating_sub(before.postgres);
        let generator = self.generator.saturating_sub(before.generator);
        let busy = self.busy.saturating_sub(before.busy);
        CpuPerRequest {
            server: ms(server),
            postgres: ms(postgres),
            generator: ms(generator),
            other: ms(busy.saturating_sub(server + postgres + generator)),
        }
    }
}

fn client() -> Result<Client> {
    Ok(Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Signs in and returns the headers every request of this session carries: the session cookie and the Origin. The
/// cookie is `Secure`, so it is copied by hand instead of through a cookie jar over plain HTTP.
async fn sign_in(client: &Client, args: &Args) -> Result<HeaderMap> {
    let res = client
        .post(format!("{}/api/auth/login", args.base))
        .header(ORIGIN, &args.base)
        .json(&json!({"email": args.email, "password": args.password}))
        .send()
        .await
        .context("signing in")?;
    let status = res.status();
    let cookies: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect();
    if !status.is_success() || cookies.is_empty() {
        bail!(
            "sign-in answered {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&cookies.join("; "))?);
    headers.insert(ORIGIN, HeaderValue::from_str(&args.base)?);
    Ok(headers)
}

async fn get_json(client: &Client, headers: &HeaderMap, url: &str) -> Result<Value> {
    let res = client.get(url).headers(headers.clone()).send().await?;
    let status = res.status();
    let text = res.text().await?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn nearest_rank(sorted: &[u64], pct: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One request of a worker; `Some(latency)` when it counts, `None` for a conflict that was re-read.
async fn one(plan: &Plan, w: &mut Worker, n: usize) -> Result<Option<Duration>, String> {
    if plan.args.moves {
        let k = w.next % w.cards.len();
        w.next += 1;
        let card = w.cards[k].clone();
        let target = (card.stage + 1) % plan.stages.len();
        let url = format!("{}/api/deals/{}", plan.args.base, card.id);
        let body = json!({"version": card.version, "stage_id": plan.stages[target]});
        let started = Instant::now();
        let res = w
            .client
            .patch(&url)
            .headers(w.headers.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if status == StatusCode::CONFLICT {
            let fresh = get_json(&w.client, &w.headers, &url)
                .await
                .map_err(|e| e.to_string())?;
            w.cards[k].version = fresh["version"].as_i64().unwrap_or(card.version);
            return Ok(None);
        }
        if !status.is_success() {
            return Err(format!(
                "PATCH {url}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let deal: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        w.cards[k].version = deal["version"].as_i64().ok_or("no version in the answer")?;
        w.cards[k].stage = target;
        Ok(Some(elapsed))
    } else {
        let path = &plan.paths[n % plan.paths.len()];
        let url = format!("{}{path}", plan.args.base);
        let mut req = w
            .client
            .request(plan.method.clone(), &url)
            .headers(w.headers.clone());
        if let Some(body) = &plan.args.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = Instant::now();
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !status.is_success() {
            return Err(format!(
                "{} {url}: {status}: {}",
                plan.method,
                String::from_utf8_lossy(&bytes)
            ));
        }
        Ok(Some(elapsed))
    }
}

/// Runs `count` requests over all workers (closed loop); returns the workers, the tally and the wall time.
async fn phase(
    plan: Arc<Plan>,
    workers: Vec<Worker>,
    count: usize,
) -> Result<(Vec<Worker>, Tally, Duration)> {
    let ticket = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut w in workers {
        let (plan, ticket) = (plan.clone(), ticket.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let n = ticket.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                match one(&plan, &mut w, n).await {
                    Ok(Some(d)) => tally.latencies.push(d.as_nanos() as u64),
                    Ok(None) => {
                        tally.conflicts += 1;
                        // The ticket is handed back: a conflict is not a measured request.
                        ticket.fetch_sub(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            (w, tally)
        }));
    }
    let mut workers = Vec::new();
    let mut total = Tally::default();
    for t in tasks {
        let (w, tally) = t.await?;
        workers.push(w);
        total.latencies.extend(tally.latencies);
        total.errors += tally.errors;
        total.conflicts += tally.conflicts;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    Ok((workers, total, started.elapsed()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    args.base = args.base.trim_end_matches('/').to_owned();
    anyhow::ensure!(
        args.concurrency > 0 && args.requests > 0,
        "--concurrency and --requests must be positive"
    );
    anyhow::ensure!(
        args.moves || !args.paths.is_empty(),
        "give PATHS to request, or --moves"
    );

    // The first session discovers the board.
    let first = client()?;
    let headers = sign_in(&first, &args).await?;
    let pipelines = get_json(&first, &headers, &format!("{}/api/pipelines", args.base)).await?;
    let pipeline = &pipelines["items"][0];
    let pipeline_id = pipeline["id"]
        .as_str()
        .context("the workspace has no pipeline")?
        .to_owned();
    let stages: Vec<String> = pipeline["stages"]
        .as_array()
        .context("a pipeline without stages")?
        .iter()
        .filter(|s| s["kind"] == "open")
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    let mut cards = Vec::new();
    if args.moves {
        anyhow::ensure!(stages.len() >= 2, "moves need two open stages");
        let board = get_json(
            &first,
            &headers,
            &format!("{}/api/pipelines/{pipeline_id}/deals", args.base),
        )
        .await?;
        for column in board["stages"]
            .as_array()
            .context("a board without stages")?
        {
            let Some(stage) = stages.iter().position(|s| column["id"].as_str() == Some(s)) else {
                continue;
            };
            for deal in column["deals"].as_array().into_iter().flatten() {
                if let (Some(id), Some(version)) = (deal["id"].as_str(), deal["version"].as_i64()) {
                    cards.push(Card {
                        id: id.to_owned(),
                        version,
                        stage,
                    });
                }
            }
        }
        anyhow::ensure!(
            cards.len() >= args.concurrency,
            "not enough open deals on the board to move"
        );
    }

    let mut workers = Vec::with_capacity(args.concurrency);
    for i in 0..args.concurrency {
        let client = if i == 0 { first.clone() } else { client()? };
        let headers = if i == 0 {
            headers.clone()
        } else {
            sign_in(&client, &args).await?
        };
        let mine = cards
            .iter()
            .skip(i)
            .step_by(args.concurrency)
            .cloned()
            .collect();
        workers.push(Worker {
            client,
            headers,
            cards: mine,
            next: 0,
        });
    }
    let plan = Arc::new(Plan {
        method: Method::from_bytes(args.method.to_uppercase().as_bytes())?,
        paths: args
            .paths
            .iter()
            .map(|p| p.replace("{pipeline}", &pipeline_id))
            .collect(),
        stages,
        args: args.clone(),
    });

    let (workers, warm, _) = phase(plan.clone(), workers, args.warmup).await?;
    if let Some(e) = warm.first_error {
        bail!("warm-up failed ({} errors): {e}", warm.errors);
    }
    let before = CpuSample::take(&args);
    let (_workers, mut tally, wall) = phase(plan.clone(), workers, args.requests).await?;
    let cpu = CpuSample::take(&args).per_request_since(&before, tally.latencies.len());
    tally.latencies.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    let n = tally.latencies.len();
    let p50 = ms(nearest_rank(&tally.latencies, 50.0));
    let p99 = ms(nearest_rank(&tally.latencies, 99.0));
    let max = ms(tally.latencies.last().copied().unwrap_or(0));
    let mean = ms(tally.latencies.iter().sum::<u64>() / n.max(1) as u64);
    let rps = n as f64 / wall.as_secs_f64();
    eprintln!(
        "{:<14} c={:<2} n={n:<6} p50 {p50:7.2} ms  p99 {p99:7.2} ms  max {max:7.2} ms  mean {mean:7.2} ms  {rps:8.1} req/s  \
         errors {}  conflicts {}",
        args.label, args.concurrency, tally.errors, tally.conflicts
    );
    if let Some(e) = &tally.first_error {
        eprintln!("first error: {e}");
    }
    eprintln!(
        "{:<14} CPU per request: server {:.2} ms, PostgreSQL {:.2} ms, this generator {:.2} ms, anything else {:.2} ms",
        "", cpu.server, cpu.postgres, cpu.generator, cpu.other
    );
    // One machine-readable line for the script's table.
    #[expect(
        clippy::print_stdout,
        reason = "the result line is this program's output"
    )]
    {
        println!(
            "RESULT\t{}\t{}\t{n}\t{p50:.2}\t{p99:.2}\t{max:.2}\t{mean:.2}\t{rps:.1}\t{}\t{}\t{}",
            args.label,
            args.concurrency,
            tally.errors,
            tally.conflicts,
            cpu.tsv()
        );
    }
    if tally.errors > 0 {
        bail!("{} requests failed", tally.errors);
    }
    Ok(())
}
