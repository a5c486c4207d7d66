//! What the BMCs of one process share, found by type and by a test of the value: one HTTP
//! client (one connection pool), one API client per endpoint and token, one directory for SSH
//! control sockets. Backends make their shared parts on first use.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A step to take when the process shuts down (a Redfish session to delete).
pub type ShutdownStep = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The shared parts made so far; the binary keeps one for the life of the process.
#[derive(Default)]
pub struct Resources {
    items: Vec<Arc<dyn Any + Send + Sync>>,
    at_shutdown: Vec<ShutdownStep>,
}

impl Resources {
    /// The shared `T` for which `is` holds, made by `make` (which may take other shared parts)
    /// if there is none yet.
    pub fn shared<T: Any + Send + Sync>(
        &mut self,
        is: impl Fn(&T) -> bool,
        make: impl FnOnce(&mut Resources) -> T,
    ) -> Arc<T> {
        let found = self
            .items
            .iter()
            .filter_map(|item| item.clone().downcast::<T>().ok())
            .find(|t| is(t));
        if let Some(t) = found {
            return t;
        }
        let t = Arc::new(make(self));
        self.items.push(t.clone());
        t
    }

    /// Adds a step to take when the process shuts down cleanly (SIGTERM, SIGINT); the binary
    /// gives all of them a few seconds together.
    pub fn at_shutdown(&mut self, step: ShutdownStep) {
        self.at_shutdown.push(step);
    }

    /// The shutdown steps, taken out (the binary runs them once).
    pub fn take_shutdown_steps(&mut self) -> Vec<ShutdownStep> {
        std::mem::take(&mut self.at_shutdown)
    }

    /// The one `T` of the process, made by `make` on first use.
    pub fn one<T: Any + Send + Sync>(&mut self, make: impl FnOnce(&mut Resources) -> T) -> Arc<T> {
        self.shared(|_| true, make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_part_is_made_once_per_match() {
        let mut r = Resources::default();
        let a = r.shared(|s: &String| s == "a", |_| "a".to_string());
        let again = r.shared(|s: &String| s == "a", |_| unreachable!("made once"));
        assert!(Arc::ptr_eq(&a, &again));
        let b = r.shared(|s: &String| s == "b", |_| "b".to_string());
        assert_eq!(*b, "b");
        assert_eq!(*r.one(|_| 7u32), 7);
        assert_eq!(*r.one(|_| 8u32), 7, "the one u32 stays");
    }
}
