// Approvals, budgets, overrides and replay through the Kotlin bindings: the shared
// scenarios (spec/vectors/approvals.json) step by step, and agent loops that wait for an
// approval and retry, and that run out of budget.
package lumenflow

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.io.TempDir

/** Every record of an evidence directory, parsed. */
fun records(dir: File): List<JsonObject> =
    File(dir, "segments").listFiles()!!.sortedBy { it.name }.flatMap { seg ->
        seg.readLines().filter { it.isNotBlank() }.map { JsonParser.parseString(it).asJsonObject }
    }

/** The status an outcome record closed decision `id` with, if one did. */
fun closedWith(dir: File, id: String): String? =
    records(dir).firstOrNull { it["kind"].asString == "outcome" && it["body"].asJsonObject["decision"].asString == id }
        ?.getAsJsonObject("body")?.get("status")?.asString

fun approver(o: JsonObject) = Approver(o["id"].asString, o.getAsJsonArray("roles")?.map { it.asString } ?: emptyList())

val ERRORS = mapOf(
    "policy" to LumenFlowException.Policy::class.java,
    "action" to LumenFlowException.Action::class.java,
    "key" to LumenFlowException.Key::class.java,
    "evidence" to LumenFlowException.Evidence::class.java,
    "approval" to LumenFlowException.Approval::class.java,
    "invalid" to LumenFlowException.Invalid::class.java,
)

class ApprovalVectorsTest {
    @TempDir
    lateinit var tmp: File

    private fun check(ctx: String, g: Governed, e: JsonObject, names: Map<String, String>, outcome: String?) {
        val d = g.decision
        e["verdict"]?.let { assertEquals(it.asString, g.verdict.spec(), "$ctx: ${d.reason}") }
        e["effect"]?.let { assertEquals(it.asString, d.effect.spec(), "$ctx: ${d.reason}") }
        e["decided_by"]?.let { assertEquals(it.asString, d.decidedBy.spec(), "$ctx: ${d.reason}") }
        e["rules"]?.let { r -> assertEquals(r.asJsonArray.map { it.asString }, d.decidingRules.map { "${it.policy}/${it.rule}" }, ctx) }
        e["request"]?.let { assertEquals(names.getValue(it.asString), d.approval?.request, ctx) }
        e["outcome"]?.let { assertEquals(it.asString, outcome, ctx) }
        e.getAsJsonArray("budgets")?.map { it.asJsonObject }?.forEach { want ->
            val got = d.budgets.firstOrNull { it.budget == want["budget"].asString }
            assertNotNull(got, "$ctx: no charge for $want in ${d.budgets}")
            assertEquals(want["status"].asString, got!!.status.spec(), "$ctx: $got")
            want["spent"]?.let { assertEquals(it.asDouble, got.spent, 1e-9, "$ctx: $got") }
            want["amount"]?.let { assertEquals(it.asDouble, got.amount, 1e-9, "$ctx: $got") }
        }
    }

    @TestFactory
    fun `approvals json`(): List<DynamicTest> {
        val doc = readJson("approvals.json")
        val scenarios = doc.getAsJsonArray("scenarios").map { it.asJsonObject }
        assertTrue(scenarios.size >= 6)
        return scenarios.mapIndexed { n, sc ->
            DynamicTest.dynamicTest(sc["name"].asString) {
                val dir = File(tmp, "ev$n")
                val clock = ManualClock(doc["start"].asString)
                val key = sc["governor_key"]?.let { KeyPair.fromPem(it.asString, "governor_key") } ?: KeyPair.generate()
                val signers = sc.getAsJsonObject("keys")?.entrySet()?.associate { (n, pem) -> n to KeyPair.fromPem(pem.asString, n) } ?: emptyMap()
                val registry = sc["registry"]?.let { File(tmp, "approvers$n.yaml").apply { writeText(it.asString) }.path }
                val set = PolicySet(sc.getAsJsonArray("policies").map { Policy.fromYaml(it.asString, sc["name"].asString) })
                val gov = Governor.open(dir.path, set, key, GovernorOptions(durability = Durability.NONE, clock = clock, registryPath = registry))
                val names = mutableMapOf<String, String>()
                for ((i, step) in sc.getAsJsonArray("steps").map { it.asJsonObject }.withIndex()) {
                    val op = step["op"].asString
                    val ctx = "${sc["name"].asString}: step $i $op"
                    val expect = step["expect"]?.takeIf { it.isJsonObject }?.asJsonObject
                    val run: () -> Unit = {
                        when (op) {
                            "decide" -> {
                                val g = gov.decide(Action(gson.toJson(step["action"])))
                                if (expect != null) check(ctx, g, expect, names, closedWith(dir, g.id))
                                step["save"]?.let { names[it.asString] = g.id }
                            }
                            "approve", "reject" -> {
                                val who = approver(step.getAsJsonObject("approver"))
                                val req = names.getValue(step["request"].asString)
                                val choice = if (op == "approve") Choice.APPROVE else Choice.REJECT
                                val reason = step["reason"].asString
                                val sig = step["sign"]?.let {
                                    val q = gov.approval(req)
                                    signVote(signers.getValue(it.asString), q.id, q.binding, choice, who.id, reason)
                                }
                                val r = gov.vote(req, who, choice, reason, sig)
                                expect?.get("state")?.let { assertEquals(it.asString, r.state.spec(), ctx) }
                                expect?.get("approvals")?.let { assertEquals(it.asInt.toUInt(), r.approvals, ctx) }
                            }
                            "attest" -> {
                                val choice = if (step["verdict"].asString == "approve") Choice.APPROVE else Choice.REJECT
                                val r = gov.attest(names.getValue(step["request"].asString), step["approver_id"].asString,
                                    choice, step["reason"].asString, step["method"].asString)
                                expect?.get("state")?.let { assertEquals(it.asString, r.state.spec(), ctx) }
                                expect?.get("approvals")?.let { assertEquals(it.asInt.toUInt(), r.approvals, ctx) }
                            }
                            "request" -> {
                                val r = gov.approval(names.getValue(step["request"].asString))
                                expect?.get("state")?.let { assertEquals(it.asString, r.state.spec(), ctx) }
                            }
                            "advance" -> clock.advance(step["seconds"].asDouble)
                            "record" -> gov.record(
                                names.getValue(step["decision"].asString),
                                Outcome(
                                    Status.valueOf(step["status"].asString.uppercase()),
                                    error = step["error"]?.asString,
                                    cost = step["cost"]?.asDouble,
                                    tokens = step["tokens"]?.asLong,
                                ),
                            )
                            "override" -> {
                                val g = gov.overrideDeny(
                                    names.getValue(step["decision"].asString),
                                    approver(step.getAsJsonObject("who")),
                                    step["reason"].asString,
                                )
                                if (expect != null) check(ctx, g, expect, names, null)
                                step["save"]?.let { names[it.asString] = g.id }
                            }
                            "budgets" -> {
                                val got = gov.budgets()
                                for (want in step.getAsJsonArray("expect").map { it.asJsonObject }) {
                                    val b = got.firstOrNull { it.budget == want["budget"].asString && it.account == want["account"].asString }
                                    assertNotNull(b, "$ctx: no account $want in $got")
                                    assertEquals(want["spent"].asDouble, b!!.spent, 1e-9, "$ctx: $got")
                                }
                            }
                            else -> error("$ctx: unknown op $op")
                        }
                    }
                    val code = step["expect_error"]?.asString
                    if (code != null) assertThrows(ERRORS.getValue(code), run::invoke, ctx) else run()
                }
                gov.shutdown()
                val r = verify(dir.path, listOf(key.publicPem()))
                assertEquals(0, r.exitCode, r.json)
            }
        }
    }
}

const val GATED = """
version: 1
name: gated
default: deny
budgets:
  - id: session-cost
    per: session
    limit: 1.0
    unit: usd
    charge: action.cost
    on_exceed: deny
rules:
  - id: shell
    effect: allow
    when: action.tool == "bash"
  - id: llm
    effect: allow
    when: action.tool == "llm"
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
"""

class AgentLoopApprovalsTest {
    @TempDir
    lateinit var tmp: File

    private fun open(dir: File, key: KeyPair) =
        Governor.open(dir.path, PolicySet(listOf(Policy.fromYaml(GATED, "gated.yaml"))), key, GovernorOptions(durability = Durability.NONE))

    @Test
    fun `approval then retry`() {
        val dir = File(tmp, "ev")
        val key = KeyPair.generate()
        val gov = open(dir, key)
        val deploy = """{"tool": "deploy", "args": {"version": "1.2.3"}, "actor": "agent-7", "session": "s-1"}"""
        var ran = 0
        // The agent's loop: propose; run only on allow; on approval required, wait.
        fun attempt(): Governed {
            val g = gov.decide(Action(deploy))
            if (g.verdict == Verdict.ALLOW) {
                ran++
                gov.record(g.id, Outcome(Status.SUCCESS, output = "deployed".toByteArray()))
            }
            return g
        }
        val first = attempt()
        assertEquals(Verdict.APPROVAL_REQUIRED, first.verdict)
        assertEquals(first.id, first.request)
        assertEquals("awaiting_approval", closedWith(dir, first.id))
        assertEquals(0, ran)
        assertEquals(RequestState.PENDING, gov.approval(first.request!!).state)
        // The proposer cannot approve its own request; someone without the role cannot either.
        assertThrows(LumenFlowException.Approval::class.java) { gov.approve(first.request!!, Approver("agent-7", listOf("lead")), "me") }
        assertThrows(LumenFlowException.Approval::class.java) { gov.approve(first.request!!, Approver("mallory"), "me") }
        val approved = gov.approve(first.request!!, Approver("alice", listOf("lead")), "release window")
        assertEquals(RequestState.APPROVED, approved.state)
        assertEquals(listOf("alice"), approved.votes.map { it.approver.id })
        // The retry of the exact action is allowed by that approval, once.
        val retry = attempt()
        assertEquals(Verdict.ALLOW, retry.verdict)
        assertEquals(DecidedBy.APPROVAL, retry.decision.decidedBy)
        assertEquals(first.request, retry.decision.approval?.request)
        assertEquals(1, ran)
        assertEquals(RequestState.USED, gov.approval(first.request!!).state)
        assertEquals(Verdict.APPROVAL_REQUIRED, attempt().verdict)
        assertEquals(1, ran)
        // Two requests: the first (used) and the one the third proposal opened.
        assertEquals(listOf(RequestState.USED, RequestState.PENDING), gov.approvals().map { it.state })
        gov.shutdown()
        assertEquals(0, verify(dir.path, listOf(key.publicPem())).exitCode)
        // Replaying the log under the same policy changes nothing.
        val replay = replay(dir.path, PolicySet(listOf(Policy.fromYaml(GATED, "gated.yaml"))))
        assertTrue(replay.samePolicies)
        assertEquals(3UL, replay.decisions)
        assertEquals(0UL, replay.changed, replay.json)
    }

    @Test
    fun `budget exhausted`() {
        val dir = File(tmp, "ev")
        val key = KeyPair.generate()
        val gov = open(dir, key)
        val verdicts = mutableListOf<Verdict>()
        for (i in 0 until 5) {
            val g = gov.decide(Action("""{"tool": "llm", "args": {"n": $i}, "actor": "agent-7", "session": "s-1", "cost": 0.3}"""))
            verdicts += g.verdict
            when (g.verdict) {
                Verdict.ALLOW -> gov.record(g.id, Outcome(Status.SUCCESS, cost = 0.3))
                Verdict.BUDGET_EXCEEDED -> {
                    assertFalse(g.allowed)
                    assertEquals(DecidedBy.BUDGET, g.decision.decidedBy)
                    assertEquals(ChargeStatus.EXCEEDED, g.decision.budgets.single().status)
                    assertEquals("denied", closedWith(dir, g.id))
                }
                else -> error("unexpected ${g.verdict}: ${g.decision.reason}")
            }
        }
        assertEquals(List(3) { Verdict.ALLOW } + List(2) { Verdict.BUDGET_EXCEEDED }, verdicts)
        val b = gov.budgets().single()
        assertEquals("session-cost", b.budget)
        assertEquals("s-1", b.account)
        assertEquals(0.9, b.spent, 1e-9)
        assertEquals(0.1, b.remaining, 1e-9)
        // Another session has its own account.
        assertEquals(Verdict.ALLOW, gov.decide(Action("""{"tool": "llm", "args": {}, "session": "s-2", "cost": 0.3}""")).verdict)
        gov.shutdown()
        assertEquals(0, verify(dir.path, listOf(key.publicPem())).exitCode)
    }

    @Test
    fun `key approvers need the approver's own signature`() {
        val dir = File(tmp, "ev")
        val agentKey = KeyPair.generate()
        val aliceKey = KeyPair.generate()
        val policy = """
            version: 1
            name: signed
            default: deny
            rules:
              - id: deploy
                effect: require_approval
                when: action.tool == "deploy"
                approvers: ["key:${aliceKey.id()}"]
        """.trimIndent()
        val gov = Governor.open(dir.path, PolicySet(listOf(Policy.fromYaml(policy, "signed.yaml"))), agentKey,
            GovernorOptions(durability = Durability.NONE))
        val g = gov.decide(Action("""{"tool": "deploy", "args": {}, "actor": "agent-7"}"""))
        val req = gov.approval(g.request!!)
        val alice = Approver("alice")
        assertThrows(LumenFlowException.Approval::class.java) { gov.approve(req.id, alice, "ok") }
        val forged = signVote(KeyPair.generate(), req.id, req.binding, Choice.APPROVE, "alice", "ok")
        assertThrows(LumenFlowException.Approval::class.java) { gov.vote(req.id, alice, Choice.APPROVE, "ok", forged) }
        // A signature over another reason does not verify either.
        val other = signVote(aliceKey, req.id, req.binding, Choice.APPROVE, "alice", "other")
        assertThrows(LumenFlowException.Approval::class.java) { gov.vote(req.id, alice, Choice.APPROVE, "ok", other) }
        val sig = signVote(aliceKey, req.id, req.binding, Choice.APPROVE, "alice", "ok")
        val r = gov.vote(req.id, alice, Choice.APPROVE, "ok", sig)
        assertEquals(RequestState.APPROVED, r.state)
        assertEquals(aliceKey.id(), r.votes.single().keyId)
        assertEquals(Verdict.ALLOW, gov.decide(Action("""{"tool": "deploy", "args": {}, "actor": "agent-7"}""")).verdict)
        gov.shutdown()
    }

    @Test
    fun `under an approver registry claims count for nothing and verify lists them`() {
        val dir = File(tmp, "ev-registry")
        val gov = KeyPair.generate()
        val alice = KeyPair.generate()
        val bob = KeyPair.generate()
        val registry = File(tmp, "approvers.yaml")
        registry.writeText(
            "version: 1\napprovers:\n" +
                "  - {id: alice, roles: [lead], keys: [\"${alice.id()}\"]}\n" +
                "  - {id: bob, roles: [lead], keys: [\"${bob.id()}\"]}\n",
        )
        val policy = """
            version: 1
            name: ops
            default: deny
            rules:
              - id: deploy
                effect: require_approval
                when: action.tool == "deploy"
                approvers: ["role:lead"]
                quorum: 2
        """.trimIndent()
        val set = PolicySet(listOf(Policy.fromYaml(policy, "ops.yaml")))
        val deploy = """{"tool": "deploy", "args": {"v": 1}, "actor": "agent"}"""
        // Without a registry (the agent opens the log with the governor's key): host word.
        val host = Governor.open(dir.path, set, gov, GovernorOptions(durability = Durability.NONE))
        val first = host.decide(Action(deploy)).request!!
        host.approve(first, Approver("alice", listOf("lead")), "")
        host.shutdown()
        val pem = gov.publicPem()
        assertEquals(0, verify(dir.path, listOf(pem), null, null).exitCode)
        val judged = verify(dir.path, listOf(pem), null, registry.path)
        assertEquals(5, judged.exitCode)
        assertTrue(judged.uncounted.any { it.contains("attested (host)") }, judged.uncounted.toString())
        // Under the registry: the claim is refused, signed votes count.
        val g = Governor.open(dir.path, set, gov,
            GovernorOptions(durability = Durability.NONE, registryPath = registry.path, trustedKeys = listOf(KeyPair.generate().publicPem())))
        assertEquals(RequestState.PENDING, g.approval(first).state)
        assertTrue(g.rejectedRecords().any { it.contains("attested (host)") })
        assertThrows(LumenFlowException.Approval::class.java) { g.approve(first, Approver("alice", listOf("lead")), "") }
        assertThrows(LumenFlowException.Approval::class.java) { g.attest(first, "alice", Choice.APPROVE, "", "password") }
        val req = g.approval(first)
        g.vote(req.id, Approver("alice"), Choice.APPROVE, "", signVote(alice, req.id, req.binding, Choice.APPROVE, "alice", ""))
        val r = g.vote(req.id, Approver("bob"), Choice.APPROVE, "", signVote(bob, req.id, req.binding, Choice.APPROVE, "bob", ""))
        assertEquals(RequestState.APPROVED, r.state)
        assertEquals(Verdict.ALLOW, g.decide(Action(deploy)).verdict)
        g.shutdown()
    }

    @Test
    fun `a manual clock only moves forward`() {
        assertThrows(LumenFlowException.Invalid::class.java) { ManualClock("yesterday") }
        val c = ManualClock("2026-11-21T09:00:00Z")
        assertThrows(LumenFlowException.Invalid::class.java) { c.advance(-1.0) }
        assertThrows(LumenFlowException.Invalid::class.java) { c.advance(Double.NaN) }
    }
}
