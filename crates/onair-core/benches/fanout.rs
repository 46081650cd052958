//! Hub fan-out: the cost of one published chunk reaching every listener (publish, wake, and each
//! subscription taking its reference), divided by the listeners.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use onair_core::{Hub, Subscription, Tuning};
use tokio_stream::Stream;

fn fanout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let mut group = c.benchmark_group("hub fan-out per chunk");
    for listeners in [100usize, 1_000, 10_000] {
        let tuning = Tuning {
            chunk: Duration::from_millis(200),
            burst: Duration::ZERO,
            queue: Duration::from_secs(10),
        };
        let hub: Arc<Hub> = Hub::new("bench", tuning);
        let mut subs: Vec<Subscription> = (0..listeners)
            .map(|_| hub.subscribe().expect("on air"))
            .collect();
        let chunk = Bytes::from(vec![0xFFu8; 4096]);
        let mut cx = Context::from_waker(Waker::noop());
        let mut pts = 0u64;
        group.throughput(Throughput::Elements(listeners as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(listeners),
            &listeners,
            |b, _| {
                b.iter(|| {
                    hub.publish(
                        chunk.clone(),
                        9,
                        (pts, 0),
                        200_000_000,
                        None,
                        &Default::default(),
                    );
                    pts += 200_000_000;
                    for sub in &mut subs {
                        match std::pin::Pin::new(&mut *sub).poll_next(&mut cx) {
                            Poll::Ready(Some(c)) => drop(c),
                            other => panic!("no chunk: {:?}", other.is_pending()),
                        }
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
