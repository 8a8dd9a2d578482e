// Package analysis judges a canary by live metrics: it runs a stage's
// rollout rules as PromQL instant queries for the canary and the stable
// version and says whether the canary passes, fails or is not yet judged.
//
// # Rules
//
// A rule is either a query (one value per version, bounded by Min and Max
// on the canary, and by MaxDrop and MaxRise relative to the stable
// version's value) or a rate (Success over Total, two counters per
// version). Each query holds {{version}} inside a quoted label value, e.g.
// sum(mlci_requests_total{version="{{version}}"}); the version is escaped
// for that string literal, so a version holding a quote cannot change the
// query. It is not escaped for regular expressions: use = rather than =~.
//
// A query must return one series (aggregate it, e.g. with sum) or none; a
// version with no series, or a value that is NaN or infinite, leaves the
// rule inconclusive, never passed.
//
// # Rates
//
// A rate rule is judged by a one-sided z-test at its Confidence c (default
// 0.95), so a canary with little traffic is not judged on noise. With s
// successes of n for each version, the proportions are taken with the
// Agresti–Caffo adjustment, one success and one failure added to each,
//
//	p̃ = (s+1)/(n+2),   v = p̃(1−p̃)/(n+2),   z* = Φ⁻¹(c),
//
// which keeps the test sound when a version has no failures at all (the
// plain Wald variance would be zero there and any canary would look
// certain). For each bound the statistic z is oriented so that a positive
// value means "within the bound":
//
//	max_drop δ: z = (p̃c − p̃s + δ) / √(vc + vs)   (canary not below stable − δ)
//	max_rise δ: z = (p̃s + δ − p̃c) / √(vc + vs)   (canary not above stable + δ)
//	min m:      z = (p̃c − m) / √vc
//	max m:      z = (m − p̃c) / √vc
//
// where δ is the threshold as an amount, a percent threshold taken of the
// stable version's raw rate ss/ns. A bound fails when z < −z* (the canary
// is significantly outside it), passes when z > z* (significantly inside),
// and is inconclusive otherwise. A rule fails when any bound fails, passes
// when all pass, and is inconclusive otherwise. Before any test, a rate is
// inconclusive when the canary's total is below MinTotal, when the
// canary's total is zero or missing, or, for max_drop and max_rise, when
// the stable version's total is zero or missing. Counts are read as Prometheus gives them
// (increase() may return fractions); successes above the total are an
// error in the queries and leave the rule inconclusive.
//
// A threshold of 0 asks the canary to be significantly better than the
// stable version, which an equal canary never is; set the margin you
// accept.
//
// # Overall
//
// The report fails when a rule that is not WarnOnly fails, is
// inconclusive when any rule that is not WarnOnly is inconclusive, and
// passes otherwise. Evaluate returns an error, rather than a report, only
// when Prometheus is unreachable (errors.Is ErrUnreachable: connection
// errors and 5xx after retries, or no answer before the context's
// deadline; a cancelled context is only context.Canceled), rejects a
// query (*APIError), or answers with several series or a shape that is not
// one value.
package analysis
