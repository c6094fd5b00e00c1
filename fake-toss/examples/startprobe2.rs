//! Temporary probe (deleted before report).
#![allow(missing_docs)]
use std::time::Instant;
fn med(mut v: Vec<std::time::Duration>) -> std::time::Duration { v.sort(); v[v.len()/2] }
fn main() {
    let mut rb = Vec::new(); let mut ts = Vec::new(); let mut bind = Vec::new(); let mut st = Vec::new();
    for _ in 0..300 {
        let a = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let b = Instant::now();
        let h = std::thread::spawn(move || { drop(rt); });
        let c = Instant::now();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let d = Instant::now();
        h.join().unwrap(); drop(l);
        let e = Instant::now();
        let t = fake_toss::FakeToss::builder().start_blocking();
        let f = Instant::now();
        drop(t);
        rb.push(b - a); ts.push(c - b); bind.push(d - c); st.push(f - e);
    }
    println!("runtime build {:?} thread spawn {:?} bind {:?} full start {:?}", med(rb), med(ts), med(bind), med(st));
}
