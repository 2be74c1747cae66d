#ifndef TIERSCORE_WORKER_WIRE_H_
#define TIERSCORE_WORKER_WIRE_H_

// Conversions between the worker protocol (worker.proto, the wire format
// between coordinator and workers) and the engine's own types. The engine
// never sees worker.proto; both ends of the protocol convert here.

#include <vector>

#include "engine/csv.h"
#include "engine/position.h"
#include "engine/scoring.h"
#include "engine/tiering.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "tierscore/v1/worker.pb.h"

namespace tierscore::worker {

engine::ByteRange FromWire(const v1::ByteRange& range);
void ToWire(const engine::ByteRange& range, v1::ByteRange* out);

engine::RangeScan FromWire(const v1::RangeScan& scan);
void ToWire(const engine::RangeScan& scan, v1::RangeScan* out);

engine::Split FromWire(const v1::Split& split);
void ToWire(const engine::Split& split, v1::Split* out);

engine::CutKey FromWire(const v1::CutKey& cut);

// Every scheme's cuts, [scheme][boundary].
std::vector<std::vector<engine::CutKey>> FromWire(
    const google::protobuf::RepeatedPtrField<v1::SchemeCuts>& schemes);

engine::CriterionStatsAcc FromWire(const v1::CriterionStats& stats);
void ToWire(const engine::CriterionStatsAcc& stats, v1::CriterionStats* out);

engine::CriterionParams FromWire(const v1::CriterionParams& params);
void ToWire(const engine::CriterionParams& params, v1::CriterionParams* out);

engine::Positions FromWire(const v1::Positions& positions);
void ToWire(const engine::Positions& positions, v1::Positions* out);

}  // namespace tierscore::worker

#endif  // TIERSCORE_WORKER_WIRE_H_
