// A small persistent thread pool. Creating a std::thread per call costs
// ~300 us, which is as long as a whole small GEMM, so workers live for the
// process and spin briefly before sleeping: consecutive kernels of one
// training step then start without a futex wake-up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace elbo {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that run tasks, the calling thread included.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(0) ... fn(tasks - 1) across the pool and the caller; returns when
  // all are done. Calls from different JS threads are serialised.
  //
  // The thread count adapts to co-tenants: each parallel run is timed against
  // the caller's own share of it (its time per task times the task count
  // estimates the run on one thread). When the parallel runs stop beating
  // that estimate (a busy process holds the other cores, so workers start
  // late or are descheduled mid-task), the next runs execute on the calling
  // thread alone, and the pool probes the parallel path again after a while.
  // A busy co-tenant therefore never makes a run much slower than one thread.
  // ELBO_NATIVE_ADAPTIVE=0 turns this off.
  void run(int tasks, const std::function<void(int)>& fn);

  // Runs done in parallel and on the calling thread alone since start-up.
  unsigned long long parallelRuns() const { return parallelRuns_.load(); }
  unsigned long long soloRuns() const { return soloRuns_.load(); }

 private:
  // One run() call. Workers hold it by shared_ptr, so a worker that wakes
  // late (the VM descheduled it) touches live memory, finds no task left and
  // goes back to waiting; run() waits only for tasks to finish, never for
  // every worker to show up.
  struct Job {
    const std::function<void(int)>* fn;
    int tasks;
    std::atomic<int> next{0};
    std::atomic<int> done{0};
  };
  // Claims and runs tasks until none is left; returns how many this thread ran.
  static int work(Job& job);
  void workerLoop();

  std::vector<std::thread> workers_;
  std::mutex runMutex_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<unsigned long long> generation_{0};
  std::shared_ptr<Job> job_;
  int sleepers_ = 0;
  bool stop_ = false;
  // Adaptation state, touched only under runMutex_.
  bool adaptive_ = true;
  double windowWall_ = 0;       // parallel wall time of the runs in the current window, s
  double windowOneThread_ = 0;  // their estimated time on one thread, s
  int windowRuns_ = 0;
  int soloLeft_ = 0;
  std::atomic<unsigned long long> parallelRuns_{0};
  std::atomic<unsigned long long> soloRuns_{0};
};

// The process-wide pool (size from ELBO_NATIVE_THREADS or the core count, at most 16).
ThreadPool& pool();

// Splits [0, n) into at most `parts` contiguous ranges and runs them in the pool;
// runs inline when n is below `grain` per extra thread.
void parallelFor(long n, long grain, const std::function<void(long, long)>& body);

}  // namespace elbo
