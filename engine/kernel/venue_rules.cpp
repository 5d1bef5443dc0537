// The venue's rules in the kernel (../shared/VENUE_RULES.md; docs/EVENTS.md
// gives their events): stops and their cascades, icebergs, GTD and DAY orders,
// and time. The pure engine (engine/book/matching.py, its "venue's paths") is
// the specification, event for event.
//
// They stay off the plain order's path: a plain NEW reaches on_new_venue only
// after failing the plain field test, an order has a VenueOrder only if it took
// this path (VENUE_BIT), and a book's bound on an input's events grows only
// while it holds stops or icebergs. What every input pays is the time step
// (one compare while no GTD order is live) and, where a trade prints, one store
// of the last price.
#include <algorithm>
#include <functional>

#include "kernel.hpp"

namespace rm {

namespace {

bool is_stop(uint8_t order_type) { return order_type == TYPE_STOP || order_type == TYPE_STOP_LIMIT; }

}  // namespace

// -- NEW ---------------------------------------------------------------------------

// A NEW whose codes are the venue's (a stop's type, DAY, GTD, a TERMS record):
// the record checks done, the rest of on_new's order with the venue's checks.
bool Kernel::on_new_venue(const InputRecord& r) {
    const uint32_t account = r.account;
    const uint64_t client = r.client_order_id;
    const bool flagged = (r.flags & FLAG_TERMS) != 0;
    // Its TERMS record, missing (cut off by the batch's end) or not one: malformed.
    if (flagged && (terms_ == nullptr || !terms_ok(*terms_)))
        return reject(CMD_NEW, REJ_INVALID_FIELD, account, r.order_id, client);
    const uint8_t present = flagged ? terms_->present : 0;
    if (present == 0 && r.order_type <= TYPE_MARKET && r.tif <= TIF_FOK &&
        books_[r.symbol].phase == PHASE_CONTINUOUS) {
        // Flagged TERMS with none set: a plain order, which on_new runs.
        InputRecord plain = r;
        plain.flags = static_cast<uint8_t>(r.flags & ~FLAG_TERMS);
        terms_ = nullptr;
        return on_new(plain);
    }
    const bool market = r.order_type == TYPE_MARKET;
    // Its worst case, an ORDER_TERMS and (in a call phase) an INDICATIVE.
    if (!fits((r.symbol != 0 ? worst_in(r.symbol, r.side, r.price, market, r.qty, r.stp) : 1) + 2 +
              due(r.ts_ns)))
        return false;
    uint64_t id = r.order_id;
    if (client != 0) {
        if (id != 0) {
            client_ids_.add(account, client, id);  // first one wins
        } else if (client_ids_.add(account, client, seq_)) {
            id = seq_;
        } else {
            return reject(CMD_NEW, REJ_DUPLICATE_CLIENT_ORDER_ID, account, 0, client);
        }
    }
    // The pre-trade stage, as on_new's: after the client id's admit, before the
    // engine's checks (a held stop is an open order, at its limit or its band's edge).
    if (risk_on_) {
        const uint8_t why = pretrade_new(r);
        if (why != 0) return reject(CMD_NEW, why, account, id, client);
    }
    advance(r.ts_ns);
    if (id == 0) return reject(CMD_NEW, REJ_INVALID_ORDER_ID, account, 0, client);
    if (used_.contains(id)) return reject(CMD_NEW, REJ_DUPLICATE_ORDER_ID, account, id, client);
    uint8_t why = invalid_new(r);
    // A market order in a CONTINUOUS book can break none of checks 8 to 10.
    if (why == 0 && (!market || books_[r.symbol].phase != PHASE_CONTINUOUS)) why = venue_reject(r);
    used_.add(id);  // from here on the id is used up, whatever follows
    if (why != 0) return reject(CMD_NEW, why, account, id, client);
    const int64_t trigger = (present & HAS_TRIGGER) != 0 ? terms_->trigger_price : 0;
    const int64_t display = (present & HAS_DISPLAY) != 0 ? terms_->display_qty : 0;
    const int64_t expire_ts = (present & HAS_EXPIRE) != 0 ? terms_->expire_ts : 0;
    const uint8_t tif = r.tif != TIF_DEFAULT ? r.tif : market ? TIF_IOC : TIF_GTC;
    const bool post_only = (r.flags & FLAG_POST_ONLY) != 0;

    EventRecord& e = emit();
    e.kind = EV_ACCEPTED;
    e.side = r.side;
    e.order_type = r.order_type;
    e.tif = tif;
    e.flags = present != 0 ? FLAG_WITH_TERMS : 0;
    e.account = account;
    e.symbol = r.symbol;
    e.order_id = id;
    e.client_order_id = client;
    e.price = r.price;
    e.qty = r.qty;
    e.leaves = r.qty;

    const uint32_t i = alloc_venue();
    Order& o = pool_[i];
    o.id = id;
    o.client = client;
    o.price = r.price;  // a STOP's is 0: none
    o.qty = r.qty;
    o.cum = 0;
    o.account = account;
    o.symbol = static_cast<uint16_t>(r.symbol);
    o.side = r.side;
    o.stp_post = static_cast<uint8_t>(r.stp | (post_only ? POST_ONLY_BIT : 0) | VENUE_BIT);
    if (present != 0) order_terms(o, trigger, display, expire_ts);
    venue_[i] = VenueOrder{0, display, 0, expire_ts, seq_, r.order_type, r.tif};
    Book& b = books_[r.symbol];
    const bool gtd = r.tif == TIF_GTD;
    if (is_stop(r.order_type)) {  // held off the book (V-STOP-1)
        if (gtd) expire_at(expire_ts, id);
        venue_[i].trigger = trigger;
        stop_append(b, i);
        index_.insert(id, i);
        account_append(i);
        ++resting_;
        return true;
    }
    Taker t{id, client, r.price, r.qty, 0, account, static_cast<uint16_t>(r.symbol), r.side, r.stp,
            market};
    if (b.phase != PHASE_CONTINUOUS) {  // a call phase (CLOSED rejected it): V-SES-2
        const bool live = r.side == SIDE_BUY ? enter_call<true>(t, post_only, i)
                                             : enter_call<false>(t, post_only, i);
        if (live && gtd) expire_at(expire_ts, id);
        publish_indicative(r.symbol);
        return true;
    }
    if (gtd) expire_at(expire_ts, id);
    if (r.side == SIDE_BUY) enter_venue<true>(t, tif, post_only, i, false);
    else enter_venue<false>(t, tif, post_only, i, false);
    if (print_high_ != 0) release_triggered(r.symbol);
    return true;
}

// NEW checks 3 to 8 but for the time (matching.py's _invalid_new), on the record:
// a price of 0 is a MARKET's or a STOP's none, and any other price's INVALID_PRICE.
uint8_t Kernel::invalid_new(const InputRecord& r) const {
    if (r.symbol == 0) return REJ_INVALID_SYMBOL;
    if (r.qty <= 0) return REJ_INVALID_QUANTITY;
    const bool post_only = (r.flags & FLAG_POST_ONLY) != 0;
    const uint8_t type = r.order_type;
    const uint8_t tif = r.tif;
    if (type == TYPE_LIMIT || type == TYPE_STOP_LIMIT) {
        if (r.price <= 0) return REJ_INVALID_PRICE;
        if (post_only && (type == TYPE_STOP_LIMIT ||
                          (tif != TIF_DEFAULT && tif != TIF_GTC && tif != TIF_DAY && tif != TIF_GTD)))
            return REJ_POST_ONLY_NOT_GTC_LIMIT;
    } else if (type == TYPE_MARKET) {
        if (r.price != 0) return REJ_MARKET_WITH_PRICE;
        if (tif != TIF_DEFAULT && tif != TIF_IOC) return REJ_MARKET_NOT_IOC;
        if (post_only) return REJ_POST_ONLY_NOT_GTC_LIMIT;
    } else {  // STOP
        if (r.price != 0) return REJ_MARKET_WITH_PRICE;
        if (tif == TIF_IOC || tif == TIF_FOK) return REJ_STOP_NOT_HELD_TIF;
        if (post_only) return REJ_POST_ONLY_NOT_GTC_LIMIT;
    }
    const uint8_t present = (r.flags & FLAG_TERMS) != 0 ? terms_->present : 0;
    if (is_stop(type)) {
        if ((present & HAS_TRIGGER) == 0 || terms_->trigger_price <= 0) return REJ_INVALID_TRIGGER_PRICE;
    } else if ((present & HAS_TRIGGER) != 0) {
        return REJ_INVALID_TRIGGER_PRICE;
    }
    if ((present & HAS_DISPLAY) != 0) {
        const int64_t display = terms_->display_qty;
        if (type != TYPE_LIMIT ||
            !(tif == TIF_DEFAULT || tif == TIF_GTC || tif == TIF_DAY || tif == TIF_GTD) ||
            display <= 0 || display > r.qty)
            return REJ_BAD_DISPLAY_QTY;
    }
    if (tif == TIF_GTD) {
        if ((present & HAS_EXPIRE) == 0 || terms_->expire_ts <= 0) return REJ_INVALID_EXPIRE_TS;
    } else if ((present & HAS_EXPIRE) != 0) {
        return REJ_INVALID_EXPIRE_TS;
    }
    return 0;
}

// NEW checks 8 (the time part) to 10, which read the kernel's state (time, the
// symbol's phase and last trade).
uint8_t Kernel::venue_reject(const InputRecord& r) const {
    if (r.tif == TIF_GTD && terms_->expire_ts <= now_) return REJ_EXPIRE_TS_PASSED;
    const Book& b = books_[r.symbol];
    if (b.phase == PHASE_CLOSED) return REJ_MARKET_CLOSED;
    if (b.call() && r.order_type == TYPE_LIMIT && (r.tif == TIF_IOC || r.tif == TIF_FOK))
        return REJ_NOT_IN_CALL_PHASE;
    if (is_stop(r.order_type)) {
        const int64_t last = b.last_price;
        const int64_t trigger = terms_->trigger_price;
        if (last != 0 && (r.side == SIDE_BUY ? trigger <= last : trigger >= last))
            return REJ_STOP_WOULD_TRIGGER;
    }
    return 0;
}

// The ORDER_TERMS record after an ACCEPTED or REPLACED flagged WITH_TERMS.
void Kernel::order_terms(const Order& o, int64_t trigger, int64_t display, int64_t expire_ts) {
    EventRecord& e = emit();
    e.kind = EV_ORDER_TERMS;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = trigger;
    e.qty = display;
    e.leaves = expire_ts;
}

uint32_t Kernel::alloc_venue() {
    const uint32_t i = pool_.alloc();
    if (venue_.size() <= i) venue_.resize(std::max<std::size_t>(i + 1, 2 * venue_.size()));
    return i;
}

// -- entering the book ------------------------------------------------------------

// An order entering a CONTINUOUS book as a taker from pool slot `slot` (its
// VenueOrder set): a NEW on the venue's path (`indexed` false) or a released
// stop (true: its id is in the index already). It matches, then rests (GTC,
// DAY, GTD) or its remainder is cancelled; a slot that does not rest is freed.
template <bool Buy>
void Kernel::enter_venue(Taker& t, uint8_t tif, bool post_only, uint32_t slot, bool indexed) {
    auto& opp = opposite_side<Buy>(books_[t.symbol]);
    if (opp.reached_by(t.price, t.market)) {
        if (post_only) {
            about_taker(EV_CANCELLED, CXL_POST_ONLY, t, t.qty);
            return drop_taker(slot, indexed);
        }
        if (tif == TIF_FOK && !fok_fills<Buy>(t, opp)) {
            about_taker(EV_CANCELLED, CXL_KILLED_FOK, t, t.qty);
            return drop_taker(slot, indexed);
        }
        match<Buy>(t, opp);
        if (t.qty == 0) return drop_taker(slot, indexed);  // filled, or cancelled by STP
    }
    if (!t.market && (tif == TIF_GTC || tif == TIF_DAY || tif == TIF_GTD))
        return rest_venue<Buy>(t, slot, indexed);
    about_taker(EV_CANCELLED,
                tif == TIF_FOK ? CXL_KILLED_FOK : t.market ? CXL_MARKET_REMAINDER : CXL_IOC_REMAINDER,
                t, t.qty);
    drop_taker(slot, indexed);
}

// What is left of the taker rests; an iceberg shows its slice (V-ICE-2).
template <bool Buy>
void Kernel::rest_venue(const Taker& t, uint32_t slot, bool indexed) {
    Order& o = pool_[slot];
    VenueOrder& v = venue_[slot];
    Book& b = books_[t.symbol];
    const int64_t shown = v.display == 0 || v.display >= t.qty ? t.qty : v.display;
    o.price = t.price;
    o.qty = shown;
    o.cum = t.cum;
    v.hidden = t.qty - shown;
    v.trigger = 0;
    own_side<Buy>(b).push_back(pool_, slot);
    if (!indexed) index_.insert(o.id, slot);
    account_append(slot);
    ++resting_;
    if (v.display != 0) {
        ++b.icebergs;
        b.slices += slices_of(slot);
    }
}

void Kernel::drop_taker(uint32_t slot, bool indexed) {
    if (indexed) index_.erase(pool_[slot].id, [this](uint32_t k) { return pool_[k].id; });
    pool_.release(slot);
}

// -- icebergs ------------------------------------------------------------------------

uint64_t Kernel::slices_of(uint32_t i) const {
    const VenueOrder& v = venue_[i];
    const uint64_t d = static_cast<uint64_t>(v.display);
    return (static_cast<uint64_t>(v.hidden) + d - 1) / d;
}

// The slice of iceberg `i` emptied with hidden quantity left: REFRESHED (before
// the slice is taken: its leaves are the whole order's), then the next slice at
// the back of its level. Its leaves do not change, its slices to come drop by one.
void Kernel::refresh(uint32_t i) {
    Order& o = pool_[i];
    VenueOrder& v = venue_[i];
    const int64_t shown = v.display < v.hidden ? v.display : v.hidden;
    EventRecord& e = emit();
    e.kind = EV_REFRESHED;
    e.side = o.side;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = o.price;
    e.qty = shown;
    e.leaves = v.hidden;
    e.cum = o.cum;
    o.qty = shown;
    v.hidden -= shown;
    Book& b = books_[o.symbol];
    --b.slices;
    if (o.side == SIDE_BUY) b.bids.move_to_back(pool_, i);
    else b.asks.move_to_back(pool_, i);
}

// -- stops ---------------------------------------------------------------------------

// A held stop (its trigger set) to the back of the release order, and into the
// trigger index.
void Kernel::stop_append(Book& b, uint32_t i) {
    Order& o = pool_[i];
    VenueOrder& v = venue_[i];
    v.stamp = ++stop_stamps_;
    (o.side == SIDE_BUY ? b.buy_stops : b.sell_stops).insert(StopKey{v.trigger, v.stamp, i});
    b.stops.push_back(pool_, i);
}

// Out of both, while its trigger is still the one it was indexed by.
void Kernel::stop_unlink(Book& b, uint32_t i) {
    Order& o = pool_[i];
    const VenueOrder& v = venue_[i];
    (o.side == SIDE_BUY ? b.buy_stops : b.sell_stops).erase(StopKey{v.trigger, v.stamp, i});
    b.stops.unlink(pool_, i);
}

// An input's own matching printed: release the stops its prints triggered, in
// rounds (V-STOP-2, V-STOP-3); each released stop's prints widen the range the
// next round reads.
void Kernel::release_triggered(uint32_t symbol) {
    Book& b = books_[symbol];
    // release() never starts a round, so fired_ is this round's throughout.
    while (take_fired(b))
        for (std::size_t k = 0; k < fired_.size(); ++k) release(fired_[k]);
}

// One round: the held stops the prints since the cascade last looked trigger, in
// release order into fired_, out of the held set (and their accounts' lists)
// together. False if there are none.
bool Kernel::take_fired(Book& b) {
    const int64_t low = print_low_;
    const int64_t high = print_high_;
    print_low_ = print_high_ = 0;
    if (high == 0 || b.stops.count == 0) return false;
    fired_.clear();
    for (auto it = b.buy_stops.begin(); it != b.buy_stops.end() && it->trigger <= high; ++it)
        fired_.push_back(it->i);
    for (auto it = b.sell_stops.rbegin(); it != b.sell_stops.rend() && it->trigger >= low; ++it)
        fired_.push_back(it->i);
    if (fired_.size() > 1)
        std::sort(fired_.begin(), fired_.end(),
                  [this](uint32_t x, uint32_t y) { return venue_[x].stamp < venue_[y].stamp; });
    for (uint32_t i : fired_) {
        stop_unlink(b, i);
        account_unlink(i);
        --resting_;
    }
    return !fired_.empty();
}

// A triggered stop: TRIGGERED, then in as a MARKET IOC (a STOP) or a LIMIT with
// its tif (a STOP_LIMIT), applying its own STP mode; never post-only. Released as
// its book closes (the closing auction's prints), it is cancelled MARKET_CLOSED.
void Kernel::release(uint32_t i) {
    Order& o = pool_[i];
    VenueOrder& v = venue_[i];
    const int64_t trigger = v.trigger;
    v.trigger = 0;
    const bool market = v.order_type == TYPE_STOP;
    const uint8_t tif = market ? TIF_IOC : v.tif == TIF_DEFAULT ? TIF_GTC : v.tif;
    EventRecord& e = emit();
    e.kind = EV_TRIGGERED;
    e.side = o.side;
    e.order_type = market ? TYPE_MARKET : TYPE_LIMIT;
    e.tif = tif;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = o.price;
    e.qty = o.qty;
    e.leaves = o.qty;
    e.cum = o.cum;
    e.trade_id = static_cast<uint64_t>(trigger);  // a TRIGGERED's trade_id is its trigger
    if (books_[o.symbol].phase == PHASE_CLOSED) {
        about_order(EV_CANCELLED, CXL_MARKET_CLOSED, o, o.qty);
        return drop_taker(i, true);
    }
    Taker t{o.id, o.client, o.price, o.qty, o.cum, o.account, o.symbol, o.side, o.stp(), market};
    if (o.side == SIDE_BUY) enter_venue<true>(t, tif, false, i, true);
    else enter_venue<false>(t, tif, false, i, true);
}

// Replace a held stop: its trigger, its limit price, its quantity (V-STOP-6).
// A new trigger, a new limit or more quantity moves it to the back of the
// release order and of its account's list; a cut keeps its place.
bool Kernel::replace_stop(const InputRecord& r, uint32_t i, uint64_t id) {
    const uint32_t account = r.account;
    const uint64_t client = r.client_order_id;
    Order& o = pool_[i];
    VenueOrder& v = venue_[i];
    const bool keep_price = (r.flags & FLAG_KEEP_PRICE) != 0;
    if (v.order_type == TYPE_STOP) {
        if (!keep_price) return reject(CMD_REPLACE, REJ_MARKET_WITH_PRICE, account, id, client);
    } else if (keep_price || r.price <= 0) {
        return reject(CMD_REPLACE, REJ_INVALID_PRICE, account, id, client);
    }
    if (r.qty <= 0) return reject(CMD_REPLACE, REJ_INVALID_QUANTITY, account, id, client);
    const bool has_trigger = (r.flags & FLAG_TERMS) != 0 && (terms_->present & HAS_TRIGGER) != 0;
    const int64_t trigger = has_trigger ? terms_->trigger_price : v.trigger;
    if (trigger <= 0) return reject(CMD_REPLACE, REJ_INVALID_TRIGGER_PRICE, account, id, client);
    const int64_t last = books_[o.symbol].last_price;
    if (last != 0 && (o.side == SIDE_BUY ? trigger <= last : trigger >= last))
        return reject(CMD_REPLACE, REJ_STOP_WOULD_TRIGGER, account, id, client);
    const int64_t price = keep_price ? 0 : r.price;
    const bool kept = trigger == v.trigger && price == o.price && r.qty <= o.qty;
    Book& b = books_[o.symbol];
    if (!kept) stop_unlink(b, i);  // by the trigger it was indexed by
    v.trigger = trigger;
    o.price = price;
    o.qty = r.qty;
    if (!kept) {
        stop_append(b, i);
        account_unlink(i);
        account_append(i);
    }
    replaced(o, price, r.qty, kept);
    out_[written_ - 1].flags |= FLAG_WITH_TERMS;
    order_terms(o, trigger, 0, 0);
    return true;
}

// -- time ----------------------------------------------------------------------------

// At most how many records expiries write when an input at `ts` moves time: the
// queue's entries due (a heap's: each parent is due before its children), gone
// ones too, each a CANCELLED and at most one INDICATIVE (a book in a call phase).
std::size_t Kernel::due_counted(int64_t ts) const {
    std::size_t n = 0;
    std::vector<std::size_t> todo{0};
    while (!todo.empty()) {
        const std::size_t k = todo.back();
        todo.pop_back();
        if (k >= expiries_.size() || expiries_[k].ts > ts) continue;
        ++n;
        todo.push_back(2 * k + 1);
        todo.push_back(2 * k + 2);
    }
    return 2 * n;
}

// The GTD orders and stops due by `ts` expire, in (expire_ts, seq of NEW) order
// (V-TIME-3); advance (kernel.hpp) has moved time up to `ts` (never back: V-TIME-2).
void Kernel::expire_due(int64_t ts) {
    while (!expiries_.empty() && expiries_.front().ts <= ts) {
        std::pop_heap(expiries_.begin(), expiries_.end(), std::greater<Expiry>());
        const uint64_t id = expiries_.back().id;
        expiries_.pop_back();
        const uint32_t i = resting_index(id);
        if (i == NIL) continue;  // gone already (filled, cancelled)
        const uint32_t symbol = pool_[i].symbol;
        about_order(EV_CANCELLED, CXL_EXPIRED, pool_[i], pool_[i].qty + hidden_of(i));
        remove_resting(i);
        touched(symbol);
    }
    publish_touched();
}

void Kernel::expire_at(int64_t ts, uint64_t id) {
    expiries_.push_back(Expiry{ts, seq_, id});
    std::push_heap(expiries_.begin(), expiries_.end(), std::greater<Expiry>());
}

bool Kernel::on_clock(const InputRecord& r) {
    if (!fits(due(r.ts_ns))) return false;
    advance(r.ts_ns);
    return true;
}

// -- bounds ----------------------------------------------------------------------------

// An input's worst case in a book with held stops or icebergs: each full use of
// a maker's slice (every resting order, every refresh, every stop released and
// resting) gives at most two records and a refresh one; each taker (the input,
// each released stop) a partial trade's two, a TRIGGERED, an STP record and its
// last CANCELLED; and the input's ACCEPTED and ORDER_TERMS. A refresh uses at
// least a lot of a taker, so without stops the input's quantity bounds them.
std::size_t Kernel::worst_bound(const Book& b, int64_t qty) const {
    uint64_t refreshes = b.slices;
    if (b.stops.count == 0 && qty > 0 && static_cast<uint64_t>(qty) < refreshes)
        refreshes = static_cast<uint64_t>(qty);
    const uint64_t resting = uint64_t{b.bids.count()} + b.asks.count();
    uint64_t need = mul_sat(add_sat(add_sat(resting, refreshes), b.stops.count), 3);
    need = add_sat(need, mul_sat(uint64_t{b.stops.count} + 1, 5));
    need = add_sat(need, 2);
    return size_sat(need);
}

template void Kernel::enter_venue<true>(Taker&, uint8_t, bool, uint32_t, bool);
template void Kernel::rest_venue<true>(const Taker&, uint32_t, bool);
template void Kernel::rest_venue<false>(const Taker&, uint32_t, bool);
template void Kernel::enter_venue<false>(Taker&, uint8_t, bool, uint32_t, bool);

}  // namespace rm
