#include "worker/wire.h"

namespace tierscore::worker {

engine::CutKey FromWire(const v1::CutKey& cut) {
  return engine::CutKey{cut.score(), cut.id(), cut.all(), cut.none()};
}

std::vector<std::vector<engine::CutKey>> FromWire(
    const google::protobuf::RepeatedPtrField<v1::SchemeCuts>& schemes) {
  std::vector<std::vector<engine::CutKey>> out;
  for (const v1::SchemeCuts& s : schemes) {
    std::vector<engine::CutKey>& cuts = out.emplace_back();
    for (const v1::CutKey& c : s.cuts()) cuts.push_back(FromWire(c));
  }
  return out;
}

engine::CriterionStatsAcc FromWire(const v1::CriterionStats& s) {
  engine::CriterionStatsAcc a;
  a.count = s.count();
  a.min = s.min();
  a.max = s.max();
  a.sum = engine::ExactSum::FromProto(s.sum());
  a.sum_sq = engine::ExactSum::FromProto(s.sum_sq());
  a.sketch = engine::QuantileSketch::FromProto(s.sketch());
  return a;
}

void ToWire(const engine::CriterionStatsAcc& stats, v1::CriterionStats* out) {
  out->set_count(stats.count);
  out->set_min(stats.min);
  out->set_max(stats.max);
  stats.sum.ToProto(out->mutable_sum());
  stats.sum_sq.ToProto(out->mutable_sum_sq());
  if (stats.sketch.count() > 0) stats.sketch.ToProto(out->mutable_sketch());
}

engine::CriterionParams FromWire(const v1::CriterionParams& params) {
  engine::CriterionParams p;
  p.offset = params.offset();
  p.divisor = params.divisor();
  p.cdf = engine::QuantileSketch::FromProto(params.cdf());
  return p;
}

void ToWire(const engine::CriterionParams& params, v1::CriterionParams* out) {
  out->set_offset(params.offset);
  out->set_divisor(params.divisor);
  if (params.cdf.count() > 0) params.cdf.ToProto(out->mutable_cdf());
}

engine::Positions FromWire(const v1::Positions& positions) {
  engine::Positions out;
  out.lo = positions.lo();
  out.hi = positions.hi();
  out.count_before.assign(positions.count_before().begin(), positions.count_before().end());
  out.value_before.assign(positions.value_before().begin(), positions.value_before().end());
  return out;
}

void ToWire(const engine::Positions& positions, v1::Positions* out) {
  out->set_lo(positions.lo);
  out->set_hi(positions.hi);
  out->mutable_count_before()->Assign(positions.count_before.begin(), positions.count_before.end());
  out->mutable_value_before()->Assign(positions.value_before.begin(), positions.value_before.end());
}

}  // namespace tierscore::worker
