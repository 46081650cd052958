//! ICY metadata insertion: the cost of weaving blocks into a listener's stream, per chunk.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use onair_server::{IcyCursor, IcyNext, IcyTitle};

fn icy(c: &mut Criterion) {
    let title = std::sync::Arc::new(IcyTitle::new(1, "onair Jazz - Blue Monk"));
    let chunk = Bytes::from(vec![0xAAu8; 3300]); // 200 ms at 128 kb/s
    let chunks = 1000;
    let mut group = c.benchmark_group("icy");
    group.throughput(Throughput::Elements(chunks));
    group.bench_function("1000 chunks of 3300 bytes", |b| {
        b.iter(|| {
            let mut cursor = IcyCursor::default();
            let mut sent = 0usize;
            let mut fed = 0;
            while fed < chunks {
                match cursor.next(|| std::sync::Arc::clone(&title)) {
                    IcyNext::Audio(a) | IcyNext::Block(a) => sent += a.len(),
                    IcyNext::NeedChunk => {
                        fed += 1;
                        sent += cursor.feed(chunk.clone()).len();
                    }
                }
            }
            sent
        })
    });
    group.finish();
}

criterion_group!(benches, icy);
criterion_main!(benches);
