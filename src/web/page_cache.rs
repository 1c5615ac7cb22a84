//! A learner's lesson page compressed whole, once its state has been seen.
//!
//! The stitched page (pieces compressed apart, at load) answers at once but cannot share
//! matches across pieces; compressed whole, the same page is a quarter smaller in gzip and
//! smaller again in brotli. A page's state changes only when its learner acts, so the first
//! view of a state is stitched and queues this compression off the request path; every
//! revisit and reload of that state gets the small form.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::web::compress;

/// gzip level for whole pages: paid once per page state.
const GZIP_LEVEL: u32 = 9;

/// brotli quality for whole pages: 10 is within 2 % of 11's size at a third of its time.
const BROTLI_QUALITY: i32 = 10;

/// One page state in both encodings.
#[derive(Debug)]
pub struct Compressed {
    /// The gzip form.
    pub gzip: Bytes,
    /// The brotli form.
    pub br: Bytes,
}

/// Compressed pages by their tag (the ETag's hash), oldest dropped past the byte budget.
#[derive(Debug)]
pub struct PageCache {
    inner: Mutex<Inner>,
    budget: usize,
}

#[derive(Debug, Default)]
struct Inner {
    pages: HashMap<u64, Arc<Compressed>>,
    order: VecDeque<u64>,
    bytes: usize,
    underway: HashSet<u64>,
}

impl PageCache {
    /// A cache holding up to `budget` bytes of compressed pages.
    pub fn new(budget: usize) -> PageCache {
        PageCache {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent between statements, so a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The compressed page for `tag`, if made.
    pub fn get(&self, tag: u64) -> Option<Arc<Compressed>> {
        self.lock().pages.get(&tag).cloned()
    }

    /// Claims `tag` for compression: false when it is cached or already being made.
    pub fn claim(&self, tag: u64) -> bool {
        let mut inner = self.lock();
        !inner.pages.contains_key(&tag) && inner.underway.insert(tag)
    }

    /// Compresses `page` for a claimed `tag` (slow: call it off the request path).
    pub fn fill(&self, tag: u64, page: &[u8]) {
        let made = compress::gzip(page, GZIP_LEVEL)
            .zip(compress::brotli(page, BROTLI_QUALITY))
            .map(|(gzip, br)| Compressed { gzip, br });
        let mut inner = self.lock();
        inner.underway.remove(&tag);
        let Some(made) = made else {
            tracing::warn!("a lesson page could not be compressed; it is sent stitched");
            return;
        };
        let size = made.gzip.len() + made.br.len();
        if size > self.budget {
            return;
        }
        while inner.bytes + size > self.budget {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.pages.remove(&old) {
                inner.bytes -= gone.gzip.len() + gone.br.len();
            }
        }
        inner.bytes += size;
        inner.order.push_back(tag);
        inner.pages.insert(tag, Arc::new(made));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_made_once_and_the_oldest_go_first() {
        let page = "<p>the same lesson</p>\n".repeat(500);
        let one = {
            let cache = PageCache::new(usize::MAX);
            cache.claim(1);
            cache.fill(1, page.as_bytes());
            let one = cache.get(1).expect("made");
            one.gzip.len() + one.br.len()
        };
        let cache = PageCache::new(2 * one + one / 2);
        assert!(cache.claim(1));
        assert!(!cache.claim(1), "one compression per state");
        cache.fill(1, page.as_bytes());
        assert!(!cache.claim(1), "cached");
        for tag in [2, 3] {
            assert!(cache.claim(tag));
            cache.fill(tag, page.as_bytes());
        }
        assert!(cache.get(1).is_none(), "the oldest made room");
        assert!(cache.get(2).is_some() && cache.get(3).is_some());
    }
}
