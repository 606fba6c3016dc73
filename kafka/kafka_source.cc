#include "kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include "kafka/kafka_conf_internal.h"

namespace driftwatch {

using TopicPartition = std::pair<std::string, int32_t>;
using Clock = std::chrono::steady_clock;

namespace {
std::atomic<int> g_destroys_in_flight{0};
}  // namespace

int KafkaSource::DestroysInFlight() { return g_destroys_in_flight.load(); }

std::string KafkaPositionKey(const std::string& topic, int32_t partition) {
  return "kafka:" + topic + "/" + std::to_string(partition);
}

struct KafkaSource::Impl {
  KafkaSource* owner = nullptr;
  KafkaSourceOptions options;
  rd_kafka_t* rk = nullptr;
  bool closed = false;
  bool cooperative = false;

  // The batch being filled by the running Next() call (nullptr outside Next).
  std::vector<RawRecord>* in_hand = nullptr;
  // Next offsets of records handed out but not yet durable, and of durable ones.
  std::map<TopicPartition, int64_t> hand_next;
  std::map<TopicPartition, int64_t> durable_next;

  mutable std::mutex mu;  // guards lag_snapshot and last_error
  std::vector<PartitionLag> lag_snapshot;
  std::string last_error;
  Clock::time_point last_lag_refresh{};
  Clock::time_point last_probe{};

  // A connection failed since the last probe: CheckConnection() probes even when connected.
  std::atomic<bool> suspect{false};

  void SetError(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    last_error = std::move(e);
  }

  // Set while Close() runs: every wait inside it (a revoke's commit) ends by then.
  bool closing = false;
  Clock::time_point close_deadline{};
  // Close()'s result, returned again by later calls.
  Status close_status;
  // True once the consumer has left the group (or never has to); false after Close() gave up.
  bool closed_cleanly = false;

  // Commits `offsets` (next offsets) for the given partitions. A sync commit waits for the
  // broker's answer, but never past the close deadline (while closing) or 10 s: a broker that is
  // gone must not hold a rebalance or a shutdown forever.
  void Commit(const std::map<TopicPartition, int64_t>& offsets, bool sync) {
    if (offsets.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
    for (const auto& [tp, next] : offsets) {
      rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = next;
    }
    if (!sync) {
      rd_kafka_resp_err_t e = rd_kafka_commit(rk, list, 1);
      NoteCommitResult(e);
      rd_kafka_topic_partition_list_destroy(list);
      return;
    }
    const auto deadline = closing ? close_deadline : Clock::now() + std::chrono::seconds(10);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(rk, list, q, nullptr, nullptr);
    rd_kafka_topic_partition_list_destroy(list);
    bool answered = e != RD_KAFKA_RESP_ERR_NO_ERROR;
    while (!answered) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(std::min<int64_t>(left, 100)));
      if (ev == nullptr) continue;
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
        answered = true;
        e = rd_kafka_event_error(ev);
      }
      rd_kafka_event_destroy(ev);
    }
    // A late answer goes to a destroyed queue, where librdkafka drops it.
    rd_kafka_queue_destroy(q);
    if (!answered) {
      SetError("offset commit: no answer from the group coordinator in time; not waiting longer");
      return;
    }
    NoteCommitResult(e);
  }

  void NoteCommitResult(rd_kafka_resp_err_t e) {
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      // Not fatal: the stored positions are the truth; the group's offsets catch up next time.
      SetError(std::string("offset commit: ") + rd_kafka_err2str(e));
    }
  }

  // A rebalance event served by Close(): revocations as in a running consumer (commit what is
  // durable, release); an assignment is acknowledged as is, without reading positions, since the
  // partitions are revoked again right after.
  void OnCloseRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      Revoke(parts, rd_kafka_assignment_lost(rk) != 0);
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, parts);
    } else if (!cooperative) {
      rd_kafka_assign(rk, nullptr);
    }
  }

  void Assign(rd_kafka_topic_partition_list_t* parts) {
    if (owner->assign_ && owner->assign_failed_.ok() && parts->cnt > 0) {
      std::vector<std::pair<std::string, int32_t>> assigned;
      for (int i = 0; i < parts->cnt; ++i) {
        assigned.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
      }
      Status s = owner->assign_(assigned);
      if (!s.ok()) {
        SetError("on assignment: " + s.message());
        owner->assign_failed_ = Status::Error("on assignment: " + s.message());
      }
    }
    // Stored position vs the group's committed offset: take the larger (see the header).
    rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t ce = rd_kafka_committed(rk, committed, 10000);
    for (int i = 0; i < parts->cnt; ++i) {
      rd_kafka_topic_partition_t* p = &parts->elems[i];
      int64_t offset = RD_KAFKA_OFFSET_INVALID;  // no position anywhere: auto.offset.reset
      if (ce == RD_KAFKA_RESP_ERR_NO_ERROR && committed->elems[i].offset >= 0) {
        offset = committed->elems[i].offset;
      }
      int64_t stored = 0;
      Status s = options.positions->GetPosition(KafkaPositionKey(p->topic, p->partition), &stored);
      if (!s.ok() && !s.IsNotFound()) SetError("reading stored position: " + s.message());
      if (s.ok() && stored > offset) offset = stored;
      p->offset = offset;
    }
    rd_kafka_topic_partition_list_destroy(committed);
    if (cooperative) {
      rd_kafka_error_t* err = rd_kafka_incremental_assign(rk, parts);
      if (err != nullptr) {
        SetError(std::string("assign: ") + rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
      }
    } else {
      rd_kafka_assign(rk, parts);
    }
    owner->rebalances_.fetch_add(1);
  }

  void Revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
    std::map<TopicPartition, bool> revoked;
    for (int i = 0; i < parts->cnt; ++i) {
      revoked[{parts->elems[i].topic, parts->elems[i].partition}] = true;
    }
    // The drain handler runs even with nothing in hand: it may have to wait for what earlier
    // batches wrote to reach others (the changelog) before the partitions go.
    const bool have = in_hand != nullptr && !in_hand->empty();
    bool drained = false;
    if (!lost && owner->drain_) {
      Status s = owner->drain_(have ? *in_hand : std::vector<RawRecord>());
      if (s.ok()) {
        drained = true;
        if (have) {
          in_hand->clear();
          for (const auto& [tp, next] : hand_next) durable_next[tp] = next;
          hand_next.clear();
        }
      } else {
        SetError("draining before revoke: " + s.message());
      }
    }
    if (have) {
      if (!drained) {
        // Not durable: the next owner reads these again from the committed offset.
        std::vector<RawRecord> kept;
        for (RawRecord& r : *in_hand) {
          bool is_revoked = false;
          for (const auto& [tp, unused] : revoked) {
            if (r.source == KafkaPositionKey(tp.first, tp.second)) is_revoked = true;
          }
          if (!is_revoked) kept.push_back(std::move(r));
        }
        in_hand->swap(kept);
        for (const auto& [tp, unused] : revoked) hand_next.erase(tp);
      }
    }
    std::map<TopicPartition, int64_t> to_commit;
    for (const auto& [tp, unused] : revoked) {
      auto it = durable_next.find(tp);
      if (it != durable_next.end()) {
        to_commit.insert(*it);
        durable_next.erase(it);
      }
      hand_next.erase(tp);
    }
    if (!lost) Commit(to_commit, /*sync=*/true);
    if (cooperative) {
      rd_kafka_error_t* err = rd_kafka_incremental_unassign(rk, parts);
      if (err != nullptr) rd_kafka_error_destroy(err);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    owner->rebalances_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    lag_snapshot.clear();
  }

  void RefreshLag() {
    rd_kafka_topic_partition_list_t* assignment = nullptr;
    if (rd_kafka_assignment(rk, &assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    rd_kafka_position(rk, assignment);
    std::vector<PartitionLag> snapshot;
    for (int i = 0; i < assignment->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = assignment->elems[i];
      int64_t lo = -1, hi = -1;
      PartitionLag lag{p.topic, p.partition, -1};
      if (rd_kafka_get_watermark_offsets(rk, p.topic, p.partition, &lo, &hi) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          hi >= 0) {
        int64_t position = p.offset;
        auto it = hand_next.find({p.topic, p.partition});
        if (it != hand_next.end()) position = it->second;
        if (position < 0) position = lo;
        if (position >= 0) lag.lag = std::max<int64_t>(0, hi - position);
      }
      snapshot.push_back(std::move(lag));
    }
    rd_kafka_topic_partition_list_destroy(assignment);
    std::lock_guard<std::mutex> lock(mu);
    lag_snapshot.swap(snapshot);
  }
};

namespace {

void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void* opaque) {
  auto* impl = static_cast<KafkaSource::Impl*>(opaque);
  if (impl->owner == nullptr) {  // being destroyed (not expected: closed already): just release
    if (impl->cooperative) {
      rd_kafka_error_t* e = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
                                ? rd_kafka_incremental_assign(rk, parts)
                                : rd_kafka_incremental_unassign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    impl->Assign(parts);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    impl->Revoke(parts, rd_kafka_assignment_lost(impl->rk) != 0);
  } else {
    impl->SetError(std::string("rebalance: ") + rd_kafka_err2str(err));
    rd_kafka_assign(impl->rk, nullptr);
  }
}

}  // namespace

Status KafkaSource::Open(const KafkaSourceOptions& options, std::unique_ptr<KafkaSource>* out) {
  if (options.positions == nullptr) return Status::Error("Kafka source: no state store");
  if (options.topics.empty()) return Status::Error("Kafka source: no topics");
  KafkaConf kc;
  kc.Set("auto.offset.reset", "earliest");
  bool cooperative = false;
  for (const auto& [k, v] : options.properties) {
    kc.Set(k, v);
    if (k == "partition.assignment.strategy" && v.find("cooperative") != std::string::npos) {
      cooperative = true;
    }
  }
  kc.Set("bootstrap.servers", options.brokers);
  kc.Set("group.id", options.group_id);
  kc.Set("enable.auto.commit", "false");
  kc.Set("enable.auto.offset.store", "false");
  kc.Set("enable.partition.eof", "false");
  if (!kc.ok()) return Status::Error(kc.error());
  rd_kafka_conf_t* conf = kc.get();
  std::unique_ptr<KafkaSource> source(new KafkaSource());
  source->impl_ = std::make_unique<Impl>();
  Impl* impl = source->impl_.get();
  impl->owner = source.get();
  impl->options = options;
  impl->cooperative = cooperative;
  rd_kafka_conf_set_opaque(conf, impl);
  rd_kafka_conf_set_rebalance_cb(conf, OnRebalance);
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* impl = static_cast<KafkaSource::Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && impl->owner != nullptr) {
      impl->owner->connected_.store(false);
    }
    // A dropped or refused connection: not always followed by "all brokers down" (the group
    // coordinator's connection is counted apart), so CheckConnection probes.
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) impl->suspect.store(true);
    impl->SetError(std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " +
                   reason);
  });
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (impl->rk == nullptr) return Status::Unavailable(std::string("Kafka consumer: ") + err);
  kc.release();  // the consumer owns it now
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size()));
  for (const std::string& t : options.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(impl->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("Kafka subscribe: ") + rd_kafka_err2str(e));
  }
  *out = std::move(source);
  return Status::Ok();
}

KafkaSource::~KafkaSource() {
  if (impl_ == nullptr) return;
  Close().IgnoreError();
  if (impl_->rk == nullptr) return;
  // Close() has left the group or given up on it: destroying must not close again (and wait
  // again, without our deadline). The destroy itself can still wait for commits queued for an
  // unreachable coordinator (up to session.timeout.ms): it runs on a thread that keeps the Impl
  // (the callbacks' opaque) alive, and is left to finish alone after kDestroyWait.
  constexpr auto kDestroyWait = std::chrono::seconds(2);
  std::shared_ptr<Impl> impl = std::move(impl_);
  impl->owner = nullptr;  // no callback reaches this object from now on
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> destroyed = done->get_future();
  g_destroys_in_flight.fetch_add(1);
  std::thread destroyer([impl, done] {
    rd_kafka_destroy_flags(impl->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    impl->rk = nullptr;
    g_destroys_in_flight.fetch_sub(1);
    done->set_value();
  });
  if (destroyed.wait_for(kDestroyWait) == std::future_status::ready) {
    destroyer.join();
  } else {
    destroyer.detach();
  }
}

Status KafkaSource::Next(size_t max, std::vector<RawRecord>* out, bool* more) {
  out->clear();
  *more = true;
  if (impl_->closed) return Status::Error("Kafka source is closed");
  if (!assign_failed_.ok()) return assign_failed_;
  impl_->in_hand = out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(impl_->options.batch_max_wait_ms);
  while (out->size() < max) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    // Once the wait is over, take only what librdkafka already holds.
    rd_kafka_message_t* msg =
        rd_kafka_consumer_poll(impl_->rk, left > 0 ? static_cast<int>(left) : 0);
    if (msg == nullptr) {
      if (left <= 0) break;
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        impl_->SetError(std::string("consume: ") + rd_kafka_message_errstr(msg));
      }
      rd_kafka_message_destroy(msg);
      continue;
    }
    // Not a sign of a live connection: prefetched messages keep coming during an outage.
    const char* topic = rd_kafka_topic_name(msg->rkt);
    RawRecord r;
    r.bytes.assign(static_cast<const char*>(msg->payload), msg->len);
    r.origin.reserve(strlen(topic) + 24);
    r.origin.append(topic).append("/").append(std::to_string(msg->partition)).append("@");
    r.origin.append(std::to_string(msg->offset));
    r.source = KafkaPositionKey(topic, msg->partition);
    r.next_offset = msg->offset + 1;
    impl_->hand_next[{topic, msg->partition}] = r.next_offset;
    out->push_back(std::move(r));
    rd_kafka_message_destroy(msg);
  }
  impl_->in_hand = nullptr;
  if (!assign_failed_.ok()) {
    out->clear();  // of partitions without their state: nothing of them may be applied
    return assign_failed_;
  }
  const auto now = Clock::now();
  if (now - impl_->last_lag_refresh > std::chrono::seconds(1)) {
    impl_->last_lag_refresh = now;
    impl_->RefreshLag();
  }
  return Status::Ok();
}

void KafkaSource::OnBatchDurable() {
  if (impl_->hand_next.empty()) return;
  for (const auto& [tp, next] : impl_->hand_next) impl_->durable_next[tp] = next;
  impl_->Commit(impl_->hand_next, /*sync=*/false);
  impl_->hand_next.clear();
}

Status KafkaSource::Close() {
  Impl* impl = impl_.get();
  if (impl->closed) return impl->close_status;
  impl->closed = true;
  if (impl->rk == nullptr) return impl->close_status;  // Open() failed before the handle existed
  const int timeout_ms = std::max(0, impl->options.close_timeout_ms);
  impl->closing = true;
  impl->close_deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // Asynchronous close served here with a deadline: rd_kafka_consumer_close() waits as long as
  // the group protocol does, which is forever when the coordinator never answers again. The
  // revocation arrives on `q` as an event and is handled like one in Next (commit what is
  // durable, release the partitions).
  rd_kafka_queue_t* q = rd_kafka_queue_new(impl->rk);
  std::string failure;
  if (rd_kafka_error_t* err = rd_kafka_consumer_close_queue(impl->rk, q); err != nullptr) {
    failure = rd_kafka_error_string(err);
    rd_kafka_error_destroy(err);
  }
  while (failure.empty() && rd_kafka_consumer_closed(impl->rk) == 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(impl->close_deadline - Clock::now())
            .count();
    if (left <= 0) break;
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(std::min<int64_t>(left, 100)));
    if (ev == nullptr) continue;
    switch (rd_kafka_event_type(ev)) {
      case RD_KAFKA_EVENT_REBALANCE:
        impl->OnCloseRebalance(rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
        break;
      case RD_KAFKA_EVENT_ERROR:
        impl->SetError(std::string("closing: ") + rd_kafka_event_error_string(ev));
        break;
      default:
        break;  // fetched messages and other results: nothing more is read after Close()
    }
    rd_kafka_event_destroy(ev);
  }
  impl->closing = false;
  impl->closed_cleanly = failure.empty() && rd_kafka_consumer_closed(impl->rk) != 0;
  if (!impl->closed_cleanly) {
    // Giving up: release whatever is still assigned, so that the group handler does not wait for
    // an acknowledgement that would have come through `q`.
    if (impl->cooperative) {
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      if (rd_kafka_assignment(impl->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (assigned->cnt > 0) {
          if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(impl->rk, assigned)) {
            rd_kafka_error_destroy(e);
          }
        }
        rd_kafka_topic_partition_list_destroy(assigned);
      }
    } else {
      rd_kafka_assign(impl->rk, nullptr);
    }
  }
  rd_kafka_queue_destroy(q);
  if (!failure.empty()) {
    impl->close_status = Status::Unavailable("closing the Kafka consumer: " + failure);
  } else if (!impl->closed_cleanly) {
    std::string why = last_error();
    impl->close_status = Status::Unavailable(
        "closing the Kafka consumer: the group was not left within " + std::to_string(timeout_ms) +
        " ms" + (why.empty() ? "" : " (last error: " + why + ")") +
        "; gave up: state and positions are durable in the state store, only the group's "
        "offsets may lag and the group sees this member go when its session times out");
  }
  return impl->close_status;
}

void KafkaSource::CheckConnection() {
  if (connected_.load() && !impl_->suspect.load()) return;
  const auto now = Clock::now();
  if (now - impl_->last_probe < std::chrono::seconds(1)) return;
  impl_->last_probe = now;
  impl_->suspect.store(false);
  const struct rd_kafka_metadata* md = nullptr;
  if (rd_kafka_metadata(impl_->rk, 0, nullptr, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
    connected_.store(true);
  } else {
    connected_.store(false);
  }
}

std::vector<PartitionLag> KafkaSource::lag() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->lag_snapshot;
}

std::string KafkaSource::last_error() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_error;
}

}  // namespace driftwatch
