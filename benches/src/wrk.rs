//! What `wrk --latency` prints, as numbers.

/// One `wrk --latency` run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Requests completed (`N requests in ...`).
    pub requests: u64,
    /// `Requests/sec`.
    pub rps: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile latency, milliseconds.
    pub p99_ms: f64,
    /// `Transfer/sec` in wrk's megabytes (2^20 bytes).
    pub mb_s: f64,
    /// Socket errors of any kind plus non-2xx/3xx responses.
    pub errors: u64,
}

/// Parses the output of `wrk --latency`; what is missing stays 0.
#[must_use]
pub fn parse(text: &str) -> Sample {
    let mut s = Sample::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["50%", v] => s.p50_ms = time_ms(v),
            ["99%", v] => s.p99_ms = time_ms(v),
            [n, "requests", "in", ..] => s.requests = n.parse().unwrap_or(0),
            ["Requests/sec:", v] => s.rps = v.parse().unwrap_or(f64::NAN),
            ["Transfer/sec:", v] => s.mb_s = size_mb(v),
            ["Non-2xx", "or", "3xx", "responses:", v] => s.errors += v.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", ..] => {
                s.errors += f
                    .iter()
                    .filter_map(|t| t.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    s
}

/// `1.07ms`, `830.00us`, `1.20s`, `2.00m` in milliseconds.
fn time_ms(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => v,
    }
}

/// `3.50MB`, `812.00KB`, `1.20GB`, `900B` in megabytes (2^20 bytes).
fn size_mb(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "B" => v / 1_048_576.0,
        "KB" => v / 1024.0,
        "GB" => v * 1024.0,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_latency_run() {
        let out = "Running 3s test @ http://127.0.0.1:1/app/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms    2.10ms  40.00ms   93.00%
    Req/Sec    20.00k     1.00k   22.00k    70.00%
  Latency Distribution
     50%  830.00us
     75%    1.07ms
     90%    2.00ms
     99%    1.20s
  123456 requests in 3.00s, 10.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  41152.00
Transfer/sec:    812.00KB
";
        let s = parse(out);
        assert_eq!(s.requests, 123_456);
        assert!((s.p50_ms - 0.83).abs() < 1e-9);
        assert!((s.p99_ms - 1200.0).abs() < 1e-9);
        assert!((s.rps - 41_152.0).abs() < 1e-9);
        assert!((s.mb_s - 812.0 / 1024.0).abs() < 1e-9);
        assert_eq!(s.errors, 7);
    }
}
