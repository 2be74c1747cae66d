// The value_ladder job in Polars (lazy API), as a user would write it: a
// full sort and a cumulative sum. Usage:
//   POLARS_MAX_THREADS=2 node polars_job.js INPUT.csv RESULTS.csv KPIS.csv
// Value sums are exact (Int64 micro-units; the total fits) and boundaries
// are applied as ceil(b * total) with b as a 1e-12 rational, as tierscore does.
const pl = require('nodejs-polars');

function main() {
  const [input, results, kpis] = process.argv.slice(2);
  const ladder = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98];
  const names = ['Diamond', 'Platinum', 'Gold', 'Silver', 'Bronze', 'Standard', 'Basic'];
  const df = pl.readCSV(input, {
    dtypes: { customer_id: pl.Utf8, nps_score: pl.Float64 },
  });
  const withScore = df.withColumns(
    pl.col('revenue_12m').plus(1).log().alias('lr'),
    pl.when(pl.col('revenue_12m').gt(0))
      .then(pl.col('revenue_12m').mul(1e6).round(0).cast(pl.Int64))
      .otherwise(pl.lit(0).cast(pl.Int64))
      .alias('micros'),
  );
  const maxR = withScore.getColumn('lr').max();
  const minM = withScore.getColumn('margin_12m').min();
  const maxM = withScore.getColumn('margin_12m').max();
  const scored = withScore
    .withColumns(
      pl.lit(0.5).mul(pl.col('lr').div(maxR))
        .plus(pl.lit(0.3).mul(pl.col('margin_12m').minus(minM).div(maxM - minM)))
        .plus(pl.lit(0.2).mul(pl.lit(1).minus(pl.col('days_since_last_order').div(730))))
        .alias('score'),
    )
    .sort(['score', 'customer_id'], [true, false])
    .withColumns(pl.col('micros').cumSum().minus(pl.col('micros')).alias('cum_before'));
  const total = BigInt(scored.getColumn('micros').sum());
  const threshold = (b) => Number((BigInt(Math.round(b * 1e12)) * total + 999999999999n) / 1000000000000n);
  const tierExpr = (bs, ns, alias) => {
    let e = pl.when(pl.col('cum_before').lt(threshold(bs[0]))).then(pl.lit(ns[0]));
    for (let i = 1; i < bs.length; i++) e = e.when(pl.col('cum_before').lt(threshold(bs[i]))).then(pl.lit(ns[i]));
    return e.otherwise(pl.lit(ns[ns.length - 1])).alias(alias);
  };
  const tiered = scored.withColumns(tierExpr(ladder, names, 'ladder'), tierExpr([0.8, 0.95], ['A', 'B', 'C'], 'abc'));
  tiered.select('customer_id', 'score', 'ladder', 'abc', pl.col('revenue_12m').alias('value')).writeCSV(results);

  const totalRevenue = tiered.getColumn('revenue_12m').sum();
  const metrics = [
    pl.count('customer_id').alias('customers'),
    pl.col('revenue_12m').sum().alias('revenue'),
    pl.col('revenue_12m').sum().div(totalRevenue).alias('revenue_share'),
    pl.col('margin_12m').sum().alias('margin'),
    pl.col('orders_12m').mean().alias('avg_orders'),
    pl.col('nps_score').gtEq(9).cast(pl.Float64).sum()
      .minus(pl.col('nps_score').ltEq(6).cast(pl.Float64).sum())
      .mul(100).div(pl.col('nps_score').count().cast(pl.Float64)).alias('nps'),
    pl.col('tickets_resolved').cast(pl.Float64).sum()
      .div(pl.col('support_tickets').cast(pl.Float64).sum()).alias('resolution_rate'),
    pl.col('tenure_months').mean().alias('avg_tenure'),
    pl.col('revenue_12m').quantile(0.9).alias('p90_revenue'),
  ];
  const bySegment = tiered.groupBy(['ladder', 'segment']).agg(...metrics);
  const byTier = tiered.groupBy('ladder').agg(...metrics).withColumns(pl.lit(null).cast(pl.Utf8).alias('segment'));
  const all = tiered.select(...metrics).withColumns(
    pl.lit(null).cast(pl.Utf8).alias('ladder'), pl.lit(null).cast(pl.Utf8).alias('segment'));
  const cols = bySegment.columns;
  pl.concat([bySegment, byTier.select(...cols), all.select(...cols)]).writeCSV(kpis);
}

main();
