use std::hint::black_box;
use std::time::Instant;
use consumer::Consumer;
use consumer_process::{Receiver, Sender, Flush};

fn main() {
    let n: u64 = 20_000_000;
    let mode = std::env::args().nth(1).unwrap_or_default();
    // encode
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(200 << 20)));
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
        fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    }
    let t = Instant::now();
    {
        let mut tx = Sender::new(Sink(shared.clone())).flush_policy(Flush::Manual);
        tx.send_all(0..n).unwrap();
        tx.close().unwrap();
    }
    let bytes = std::mem::take(&mut *shared.lock().unwrap());
    let enc = t.elapsed();
    if mode == "sink" || mode == "sinkall" || mode == "sinkmanual" {
        let t = Instant::now();
        let mut tx = Sender::new(std::io::sink());
        if mode == "sinkmanual" { tx = tx.flush_policy(Flush::Manual); }
        if mode == "sinkall" { tx.send_all(0..n).unwrap(); } else { for i in 0..n { tx.send(i).unwrap(); } }
        tx.close().unwrap();
        println!("{mode} {:.1} ns/item", t.elapsed().as_nanos() as f64 / n as f64);
        return;
    }
    if mode == "auto" || mode == "all" {
        let (r, w) = std::io::pipe().unwrap();
        let rx = std::thread::spawn(move || {
            let mut sum = 0u64;
            Receiver::new(r).run::<u64, _>(consumer::from_fn(|x: u64| sum = sum.wrapping_add(x))).unwrap();
            black_box(sum)
        });
        let t = Instant::now();
        let mut tx = Sender::new(w);
        if mode == "all" { tx.send_all(0..n).unwrap(); } else { for i in 0..n { tx.send(i).unwrap(); } }
        tx.close().unwrap();
        drop(tx);
        rx.join().unwrap();
        println!("{mode} {:.1} ns/item", t.elapsed().as_nanos() as f64 / n as f64);
        return;
    }
    if mode == "enc" { println!("enc {:.1} ns/item", enc.as_nanos() as f64 / n as f64); return; }
    let t = Instant::now();
    let mut sum = 0u64;
    for _ in 0..3 {
        let count = consumer::from_fn(|x: u64| sum = sum.wrapping_add(x));
        Receiver::new(&bytes[..]).run::<u64, _>(count).unwrap();
    }
    black_box(sum);
    let dec = t.elapsed();
    println!("enc {:.1} ns/item, dec {:.1} ns/item", enc.as_nanos() as f64 / n as f64, dec.as_nanos() as f64 / (3 * n) as f64);
}
