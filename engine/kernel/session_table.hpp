// Live sessions per account, across every gateway worker: where
// cancel-on-disconnect is decided (the rules of engine/core/sessions.py).
//
// Node-based std::map/std::set on purpose: session inputs are a logon or a
// logoff, not an order, so their cost is off the hot path, and the ordered
// map hands WorkerStarted its accounts in ascending id, the documented order
// of its mass cancels.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace rm {

class SessionTable {
  public:
    void open(uint32_t account, uint64_t worker, uint64_t session, bool cancel_on_disconnect) {
        live_[account].insert({worker, session});
        if (cancel_on_disconnect) armed_.insert(account);
    }

    // True when this ended the armed account's last live session.
    bool close(uint32_t account, uint64_t worker, uint64_t session) {
        auto it = live_.find(account);
        if (it == live_.end()) return false;
        it->second.erase({worker, session});
        return settle(it);
    }

    // Close the sessions of `worker` and of every worker number >= `workers`;
    // append the accounts whose orders go, in ascending id.
    void worker_started(uint64_t worker, int64_t workers, std::vector<uint32_t>& gone) {
        for (auto it = live_.begin(); it != live_.end();) {
            auto& keys = it->second;
            for (auto k = keys.begin(); k != keys.end();) {
                const uint64_t w = k->first;
                // workers < 0: every worker number is >= it.
                const bool ends = w == worker || workers < 0 || w >= static_cast<uint64_t>(workers);
                k = ends ? keys.erase(k) : std::next(k);
            }
            const uint32_t account = it->first;
            auto next = std::next(it);
            if (settle(it)) gone.push_back(account);
            it = next;
        }
    }

    std::size_t accounts_live() const { return live_.size(); }

    using Live = std::map<uint32_t, std::set<std::pair<uint64_t, uint64_t>>>;

    // For the dump (kernel_dump.cpp): the live sessions, and whether an account is armed.
    const Live& live() const { return live_; }
    bool armed(uint32_t account) const { return armed_.count(account) != 0; }

  private:

    // Drop the account's entry if no session is left; true if it was armed.
    bool settle(Live::iterator it) {
        if (!it->second.empty()) return false;
        const uint32_t account = it->first;
        live_.erase(it);
        return armed_.erase(account) != 0;
    }

    Live live_;  // account -> (worker, session) pairs
    std::set<uint32_t> armed_;
};

}  // namespace rm
