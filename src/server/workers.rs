//! The server's connection threads. Each connection is served by a thread of
//! its own, as before, but a thread whose connection ended waits a while for
//! the next one instead of exiting: waking a waiting thread takes tens of
//! microseconds, while a new thread on a loaded machine may first run
//! milliseconds after it was started (the scheduler lets the running task
//! finish its slice), a delay every new connection paid before its first
//! byte was read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many threads wait for connections at most.
const IDLE_MAX: usize = 16;
/// How long a thread waits for a connection before it exits.
const LINGER: Duration = Duration::from_secs(60);

/// A connection to serve, run on one of the threads.
pub type Job = Box<dyn FnOnce() + Send>;

/// The threads, those waiting and those serving.
pub struct Workers {
    sender: Mutex<Option<Sender<Job>>>,
    waiting: Arc<Waiting>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The jobs handed to waiting threads, and how many threads wait unclaimed.
struct Waiting {
    jobs: Mutex<Receiver<Job>>,
    idle: AtomicUsize,
}

impl Waiting {
    /// Takes one unclaimed waiting thread off the count; whether there was one.
    fn claim(&self) -> bool {
        self.idle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Default for Workers {
    fn default() -> Workers {
        let (sender, receiver) = mpsc::channel();
        Workers {
            sender: Mutex::new(Some(sender)),
            waiting: Arc::new(Waiting {
                jobs: Mutex::new(receiver),
                idle: AtomicUsize::new(0),
            }),
            threads: Mutex::new(Vec::new()),
        }
    }
}

impl Workers {
    /// Runs `job` on a waiting thread, or on a new one when none waits (or
    /// after [`Workers::stop`], when it runs on a new thread that then exits).
    pub fn run(&self, job: Job) {
        let job = {
            let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            match sender.as_ref() {
                Some(sender) if self.waiting.claim() => match sender.send(job) {
                    Ok(()) => return,
                    Err(mpsc::SendError(job)) => job,
                },
                _ => job,
            }
        };
        let waiting = Arc::clone(&self.waiting);
        let thread = std::thread::spawn(move || {
            job();
            serve(&waiting);
        });
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        threads.retain(|t| !t.is_finished());
        threads.push(thread);
    }

    /// Lets the waiting threads go and waits for every thread to end (the
    /// caller first closes the connections they serve).
    pub fn stop(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// A thread's life after its first job: wait for more, up to [`LINGER`]
/// each time, while fewer than [`IDLE_MAX`] others wait.
fn serve(waiting: &Waiting) {
    loop {
        let mut idle = waiting.idle.load(Ordering::SeqCst);
        loop {
            if idle >= IDLE_MAX {
                return;
            }
            match waiting
                .idle
                .compare_exchange(idle, idle + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(now) => idle = now,
            }
        }
        let jobs = waiting.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let job = match jobs.recv_timeout(LINGER) {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => return,
            // Unless a job was meant for this thread (the count was claimed
            // meanwhile), leave; else it is on its way.
            Err(RecvTimeoutError::Timeout) if waiting.claim() => return,
            Err(RecvTimeoutError::Timeout) => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        drop(jobs);
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_thread_whose_job_ended_takes_the_next_one() {
        let workers = Workers::default();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        workers.run(Box::new(move || {
            tx.send(std::thread::current().id()).unwrap()
        }));
        let first = rx.recv().unwrap();
        // Wait until that thread waits for work.
        while workers.waiting.idle.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        workers.run(Box::new(move || {
            tx2.send(std::thread::current().id()).unwrap()
        }));
        assert_eq!(rx.recv().unwrap(), first);
        workers.stop();
        assert!(workers.threads.lock().unwrap().is_empty());
    }

    #[test]
    fn jobs_at_once_get_threads_of_their_own_and_stop_waits_for_them() {
        let workers = Workers::default();
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(Mutex::new(rx));
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..4 {
            let (rx, done_tx) = (Arc::clone(&rx), done_tx.clone());
            // Each job blocks until released: four must run at once.
            workers.run(Box::new(move || {
                let _ = done_tx.send(());
                let _ = rx.lock().unwrap().recv();
            }));
        }
        for _ in 0..4 {
            done_rx.recv().unwrap();
        }
        drop(tx);
        workers.stop();
    }
}
