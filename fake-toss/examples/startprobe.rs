//! Temporary probe (deleted before report).
#![allow(missing_docs)]
use std::time::{Duration, Instant};
fn stats(n: &str, v: &mut Vec<Duration>) {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    println!("{n}: mean {mean:?} median {:?} p90 {:?} p99 {:?}", v[v.len()/2], v[v.len()*9/10], v[v.len()*99/100]);
}
fn main() {
    let keep = std::env::var("KEEP").is_ok();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut t_start = Vec::new(); let mut t_req = Vec::new(); let mut kept = Vec::new();
    for i in 0..16000 {
        rt.block_on(async {
            let a = Instant::now();
            let toss = fake_toss::FakeToss::start().await;
            let b = Instant::now();
            let r = client.get(format!("{}/v1/payments/x", toss.uri())).header("authorization", toss.authorization()).send().await.unwrap();
            assert_eq!(r.status(), 404);
            let c = Instant::now();
            if keep { kept.push(toss); } else { drop(toss); }
            t_start.push(b - a); t_req.push(c - b);
            if i % 2000 == 1999 { let n = t_req.len(); let m: Duration = t_req[n-2000..].iter().sum::<Duration>() / 2000; let s2: Duration = t_start[n-2000..].iter().sum::<Duration>() / 2000; println!("block {i}: start {s2:?} req {m:?}"); }
        });
    }
    stats("start", &mut t_start); stats("req", &mut t_req);
}
