// The metrics endpoint: prometheus-cpp's pull Exposer (civetweb underneath) serves /metrics with
// optional basic auth; a civetweb begin_request callback answers /healthz and /readyz before any
// handler runs, since the Exposer only knows how to serve registries.

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "exporters/metrics.h"
#include "exporters/metrics_internal.h"

namespace driftwatch {
namespace {

// Readiness per civetweb context. The begin_request callback has no user pointer of its own
// (CivetServer takes the context's), so contexts are mapped to their flag here: init_context runs
// on the thread constructing the Exposer, which publishes the flag it is building through
// tls_starting_ready.
std::mutex g_ready_mu;
std::map<const mg_context*, std::shared_ptr<std::atomic<bool>>>& ReadyByContext() {
  static auto* const map = new std::map<const mg_context*, std::shared_ptr<std::atomic<bool>>>();
  return *map;
}
thread_local std::shared_ptr<std::atomic<bool>>* tls_starting_ready = nullptr;

void InitContext(const mg_context* ctx) {
  if (tls_starting_ready == nullptr) return;
  std::lock_guard<std::mutex> lock(g_ready_mu);
  ReadyByContext()[ctx] = *tls_starting_ready;
}

void ExitContext(const mg_context* ctx) {
  std::lock_guard<std::mutex> lock(g_ready_mu);
  ReadyByContext().erase(ctx);
}

bool IsReady(const mg_context* ctx) {
  std::lock_guard<std::mutex> lock(g_ready_mu);
  auto it = ReadyByContext().find(ctx);
  return it != ReadyByContext().end() && it->second->load(std::memory_order_acquire);
}

int Respond(mg_connection* conn, int code, const char* reason, const char* body, bool head) {
  const size_t len = std::strlen(body);
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            code, reason, len);
  if (!head) mg_write(conn, body, len);
  return code;
}

// Returns 0 to let civetweb (and the Exposer's handlers) process the request.
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info == nullptr || info->local_uri == nullptr) return 0;
  const bool healthz = std::strcmp(info->local_uri, "/healthz") == 0;
  const bool readyz = std::strcmp(info->local_uri, "/readyz") == 0;
  if (!healthz && !readyz) return 0;
  const char* method = info->request_method != nullptr ? info->request_method : "";
  const bool head = std::strcmp(method, "HEAD") == 0;
  if (!head && std::strcmp(method, "GET") != 0) {
    return Respond(conn, 405, "Method Not Allowed", "method not allowed\n", false);
  }
  if (healthz) return Respond(conn, 200, "OK", "ok\n", head);
  if (IsReady(mg_get_context(conn))) return Respond(conn, 200, "OK", "ready\n", head);
  return Respond(conn, 503, "Service Unavailable", "not ready\n", head);
}

// Civetweb logs through this; its messages never contain credentials, but they would go to
// stderr unformatted, so they are dropped and failures surface as Start errors instead.
int SilenceLog(const mg_connection*, const char*) { return 1; }

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Accepts "a.b.c.d:port", "[v6]:port" and "localhost:port" (as 127.0.0.1) only, so that a config
// value cannot enable extra listeners, TLS or redirect ports through civetweb's listening_ports
// syntax. `civet_listen` receives the value for civetweb.
Status CheckListen(const std::string& listen, std::string* civet_listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("metrics.listen must be host:port, got '" + listen + "'");
  }
  std::string_view host(listen.data(), colon);
  std::string_view port(listen.data() + colon + 1, listen.size() - colon - 1);
  if (!AllDigits(port) || std::stoi(std::string(port)) > 65535) {
    return Status::InvalidArgument("metrics.listen: port must be 0..65535, got '" +
                                   std::string(port) + "'");
  }
  *civet_listen = listen;
  if (host == "localhost") {
    *civet_listen = "127.0.0.1:" + std::string(port);
    return Status::Ok();
  }
  bool ok;
  if (host.front() == '[') {
    ok = host.size() > 2 && host.back() == ']' &&
         host.substr(1, host.size() - 2).find_first_not_of("0123456789abcdefABCDEF:.") ==
             std::string_view::npos;
  } else {
    int dots = 0;
    ok = host.find_first_not_of("0123456789.") == std::string_view::npos;
    for (char c : host) dots += c == '.';
    ok = ok && dots == 3;
  }
  if (!ok) {
    return Status::InvalidArgument(
        "metrics.listen: host must be an IPv4 address or [IPv6] address, got '" +
        std::string(host) + "'");
  }
  return Status::Ok();
}

// Compares without an early exit, so response time does not reveal a matching prefix.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

struct MetricsServer::Impl {
  std::shared_ptr<std::atomic<bool>> ready = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  // The Exposer stops civetweb (joining its threads) before the readiness flag goes away.
  impl_->exposer.reset();
}

Status MetricsServer::Start(const MetricsServerOptions& options, MetricsProbe* probe,
                            std::unique_ptr<MetricsServer>* out) {
  if (probe == nullptr || out == nullptr) return Status::Error("metrics: no probe");
  std::string civet_listen;
  Status s = CheckListen(options.listen, &civet_listen);
  if (!s.ok()) return s;
  if (options.threads < 1 || options.threads > 16) {
    return Status::InvalidArgument("metrics.threads must be in 1..16, got " +
                                   std::to_string(options.threads));
  }
  std::string password;
  if (!options.basic_auth_user.empty()) {
    const char* env = options.basic_auth_password_env.empty()
                          ? nullptr
                          : std::getenv(options.basic_auth_password_env.c_str());
    if (env == nullptr || *env == '\0') {
      return Status::Error("metrics: basic auth user is set but environment variable '" +
                           options.basic_auth_password_env +
                           "' holding the password is unset or "
                           "empty");
    }
    password = env;
  }

  auto impl = std::make_unique<Impl>();
  CivetCallbacks callbacks;  // zeroed by its constructor
  callbacks.begin_request = BeginRequest;
  callbacks.init_context = InitContext;
  callbacks.exit_context = ExitContext;
  callbacks.log_message = SilenceLog;
  std::vector<std::string> civet_options = {
      "listening_ports",    civet_listen, "num_threads",       std::to_string(options.threads),
      "request_timeout_ms", "10000",      "enable_keep_alive", "no",
  };
  tls_starting_ready = &impl->ready;
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(civet_options, &callbacks);
  } catch (const std::exception& e) {
    tls_starting_ready = nullptr;
    return Status::Error("metrics: cannot listen on " + options.listen + ": " + e.what());
  }
  tls_starting_ready = nullptr;
  if (!password.empty()) {
    impl->exposer->RegisterAuth(
        [user = options.basic_auth_user, password](const std::string& u, const std::string& p) {
          // Both compared in full, so a wrong user and a wrong password take the same time.
          const bool user_ok = ConstantTimeEquals(u, user);
          const bool password_ok = ConstantTimeEquals(p, password);
          return user_ok && password_ok;
        },
        "driftwatch", "/metrics");
  }
  impl->exposer->RegisterCollectable(probe->impl_->registry, "/metrics");
  const std::vector<int> ports = impl->exposer->GetListeningPorts();
  impl->port = ports.empty() ? 0 : ports.front();
  out->reset(new MetricsServer(std::move(impl)));
  return Status::Ok();
}

void MetricsServer::SetReady(bool ready) { impl_->ready->store(ready, std::memory_order_release); }

int MetricsServer::port() const { return impl_->port; }

}  // namespace driftwatch
