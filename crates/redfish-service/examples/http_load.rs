//! A closed-loop HTTP/1.1 load generator for `bench/redfish-vs-sushy.sh`: CONNECTIONS threads,
//! each sending one request after the other over a keep-alive connection (reconnecting when the
//! server closes it, as HTTP/1.0 servers do), for SECONDS; prints requests, requests/s, the
//! 50th and 99th percentile latency and the statuses seen. Only std: what it measures is the
//! server.
//!
//! Usage: http_load HOST:PORT METHOD PATH CONNECTIONS SECONDS [BODY] [HEADER...]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: http_load HOST:PORT METHOD PATH CONNECTIONS SECONDS [BODY] [HEADER...]");
        std::process::exit(2);
    }
    let (addr, method, path) = (args[1].clone(), args[2].clone(), args[3].clone());
    let conns: usize = args[4].parse().expect("CONNECTIONS");
    let secs: f64 = args[5].parse().expect("SECONDS");
    let body = args.get(6).cloned().unwrap_or_default();
    let headers: String = args.iter().skip(7).map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, request) = (addr.clone(), request.clone());
            std::thread::spawn(move || worker(&addr, request.as_bytes(), until))
        })
        .collect();
    let mut lat = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for t in threads {
        let (l, s) = t.join().expect("worker");
        lat.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_insert(0u64) += v;
        }
    }
    let took = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d: &Duration| d.as_secs_f64() * 1e3)
    };
    println!(
        "requests {} req/s {:.0} p50_ms {:.2} p99_ms {:.2} statuses {:?}",
        lat.len(),
        lat.len() as f64 / took,
        pct(0.50),
        pct(0.99),
        statuses
    );
}

/// One connection's requests until `until`: their latencies and statuses.
fn worker(
    addr: &str,
    request: &[u8],
    until: Instant,
) -> (Vec<Duration>, std::collections::BTreeMap<u16, u64>) {
    let mut lat = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < until {
        let t = Instant::now();
        let c = match conn.take() {
            Some(c) => c,
            None => match TcpStream::connect(addr) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    BufReader::new(s)
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let mut c = c;
        if c.get_mut().write_all(request).is_err() {
            continue;
        }
        match read_response(&mut c) {
            Some((status, keep)) => {
                lat.push(t.elapsed());
                *statuses.entry(status).or_insert(0) += 1;
                if keep {
                    conn = Some(c);
                }
            }
            None => continue,
        }
    }
    (lat, statuses)
}

/// Reads one response: its status and whether the connection stays open.
fn read_response(c: &mut BufReader<TcpStream>) -> Option<(u16, bool)> {
    let mut line = String::new();
    c.read_line(&mut line).ok()?;
    let http10 = line.starts_with("HTTP/1.0");
    let status: u16 = line.get(9..12)?.parse().ok()?;
    let (mut length, mut close, mut chunked) = (None, http10, false);
    loop {
        line.clear();
        c.read_line(&mut line).ok()?;
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        } else if l == "connection: close" {
            close = true;
        } else if l == "connection: keep-alive" {
            close = false;
        } else if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            line.clear();
            c.read_line(&mut line).ok()?;
            let n = usize::from_str_radix(line.trim(), 16).ok()?;
            let mut buf = vec![0; n + 2];
            c.read_exact(&mut buf).ok()?;
            if n == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        let mut buf = vec![0; n];
        c.read_exact(&mut buf).ok()?;
    } else if status != 204 && status != 304 {
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).ok()?;
        close = true;
    }
    Some((status, !close))
}
