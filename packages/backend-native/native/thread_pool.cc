#include "thread_pool.h"

#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ELBO_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define ELBO_PAUSE() asm volatile("yield")
#else
#define ELBO_PAUSE() ((void)0)
#endif

namespace elbo {

ThreadPool::ThreadPool(int threads) {
  const char* env = std::getenv("ELBO_NATIVE_ADAPTIVE");
  adaptive_ = !(env && env[0] == '0');
  for (int i = 1; i < threads; i++) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::work(Job& job) {
  int ran = 0;
  for (;;) {
    const int i = job.next.fetch_add(1, std::memory_order_acq_rel);
    if (i >= job.tasks) return ran;
    (*job.fn)(i);
    ran++;
    job.done.fetch_add(1, std::memory_order_acq_rel);
  }
}

namespace {
// Runs executed on the calling thread alone once the parallel path lost, before probing it again.
constexpr int kSoloRuns = 400;
// Above this (parallel wall time / estimated one-thread time over a window) the parallel path is not worth it.
constexpr double kSlowdownLimit = 0.9;
// A window ends after this many parallel runs or this much estimated one-thread work.
constexpr int kWindowRuns = 64;
constexpr double kWindowSeconds = 2e-3;
}  // namespace

void ThreadPool::workerLoop() {
  unsigned long long seen = 0;
  for (;;) {
    // Spin ~100 us for the next job (a training step issues kernels back to
    // back), then sleep on the condition variable. The spin yields the core
    // every 16 pauses: on an idle machine yield returns at once (no wake-up
    // latency lost), but when another process wants this core a pure pause
    // spin took its time slices and the step got slower than on one thread
    // (MLP VAE step on the 2-core VM beside a busy process: 13.5 ms with a
    // pause spin, 11.3-11.7 ms yielding, 11.3 ms with no spin at all).
    auto start = std::chrono::steady_clock::now();
    int spins = 0;
    std::shared_ptr<Job> job;
    while (generation_.load(std::memory_order_acquire) == seen) {
      ELBO_PAUSE();
      if (spins % 16 == 15) std::this_thread::yield();
      if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > std::chrono::microseconds(100)) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_++;
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        sleepers_--;
        break;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      seen = generation_.load(std::memory_order_acquire);
      job = job_;
    }
    if (job) work(*job);
  }
}

void ThreadPool::run(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> runLock(runMutex_);
  if (workers_.empty() || tasks == 1 || soloLeft_ > 0) {
    if (soloLeft_ > 0) {
      soloLeft_--;
      soloRuns_.fetch_add(1, std::memory_order_relaxed);
    }
    for (int i = 0; i < tasks; i++) fn(i);
    return;
  }
  parallelRuns_.fetch_add(1, std::memory_order_relaxed);
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->tasks = tasks;
  bool wake;
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = job;
    generation_.fetch_add(1, std::memory_order_acq_rel);
    wake = sleepers_ > 0;
  }
  if (wake) cv_.notify_all();
  const int mine = work(*job);
  const auto t1 = std::chrono::steady_clock::now();
  // Tasks claimed by workers may still run: wait for them, spinning briefly
  // and then yielding the core (on a loaded 2-core VM the worker may need it).
  int spins = 0;
  while (job->done.load(std::memory_order_acquire) != tasks) {
    if (++spins < 4096) {
      ELBO_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
  if (!adaptive_ || mine == 0) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double oneThread = std::chrono::duration<double>(t1 - t0).count() / mine * tasks;
  if (oneThread <= 0) return;
  // Judged over a window of runs weighted by their length, so that the long runs (the GEMMs) decide.
  windowWall_ += wall;
  windowOneThread_ += oneThread;
  if (++windowRuns_ < kWindowRuns && windowOneThread_ < kWindowSeconds) return;
  const double slowdown = windowWall_ / windowOneThread_;
  windowWall_ = windowOneThread_ = 0;
  windowRuns_ = 0;
  if (slowdown > kSlowdownLimit) soloLeft_ = kSoloRuns;
}

static int defaultThreads() {
  const char* env = std::getenv("ELBO_NATIVE_THREADS");
  int n = env ? std::atoi(env) : 0;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  return n > 16 ? 16 : n;
}

ThreadPool& pool() {
  // Leaked on purpose: joining workers from a static destructor at exit can
  // deadlock with Node's own teardown.
  static ThreadPool* p = new ThreadPool(defaultThreads());
  return *p;
}

void parallelFor(long n, long grain, const std::function<void(long, long)>& body) {
  ThreadPool& p = pool();
  long parts = 2L * p.size();
  if (grain > 0 && n / grain < parts) parts = n / grain;
  if (parts <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  long chunk = (n + parts - 1) / parts;
  p.run(static_cast<int>(parts), [&](int t) {
    long lo = t * chunk;
    long hi = lo + chunk < n ? lo + chunk : n;
    if (lo < hi) body(lo, hi);
  });
}

}  // namespace elbo
