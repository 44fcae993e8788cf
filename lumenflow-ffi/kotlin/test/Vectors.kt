// Shared vectors (spec/vectors/) run through the Kotlin bindings: decisions, evidence
// (the log and its tampered copies, with their verdicts), RFC 8785 canonical JSON and
// C2SP's Ed25519 edge cases.
package lumenflow

import com.google.gson.Gson
import com.google.gson.GsonBuilder
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import java.math.BigDecimal
import java.security.MessageDigest
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory

/** The repository root (set by scripts/test-kotlin.sh). */
val ROOT: File = File(System.getProperty("lumenflow.root") ?: error("-Dlumenflow.root is not set"))

fun spec(path: String): File = File(ROOT, "spec/vectors/$path")

fun readJson(path: String): JsonObject = JsonParser.parseString(spec(path).readText()).asJsonObject

val gson: Gson = Gson()

/** `allow`, `deny`, `require_approval`: the spec's spelling of an enum constant. */
fun Enum<*>.spec(): String = name.lowercase()

class DecideVectorsTest {
    @TestFactory
    fun `decide json`(): List<DynamicTest> {
        val doc = readJson("decide.json")
        val tests = mutableListOf<DynamicTest>()
        for (suite in doc.getAsJsonArray("suites").map { it.asJsonObject }) {
            val name = suite["name"].asString
            val layers = suite.getAsJsonArray("policies").mapIndexed { i, p ->
                Policy.fromYaml(p.asString, "decide.json $name #$i")
            }
            val set = PolicySet(layers)
            for (case in suite.getAsJsonArray("cases").map { it.asJsonObject }) {
                tests += DynamicTest.dynamicTest("$name: ${case["name"].asString}") {
                    val action = Action(gson.toJson(case["action"]))
                    val context = Context(gson.toJson(case["context"]))
                    val d = set.decide(action, context)
                    val expect = case.getAsJsonObject("expect")
                    assertEquals(expect["effect"].asString, d.effect.spec(), d.reason)
                    assertEquals(expect["decided_by"].asString, d.decidedBy.spec(), d.reason)
                    val rules = expect.getAsJsonArray("deciding_rules").map { r ->
                        r.asJsonArray.let { it[0].asString to it[1].asString }
                    }
                    assertEquals(rules, d.decidingRules.map { it.policy to it.rule })
                    assertEquals(expect["errors"].asInt, d.errors.size, "errors: ${d.errors}")
                    assertEquals(expect["warnings"].asInt, d.warnings.size, "warnings: ${d.warnings}")
                    if (expect.has("approvers")) {
                        assertEquals(expect.getAsJsonArray("approvers").map { it.asString }, d.approvers)
                    }
                    assertEquals(d.effect == Effect.ALLOW, d.allowed)
                    // The JSON form carries the same decision.
                    val json = JsonParser.parseString(d.json).asJsonObject
                    assertEquals(expect["effect"].asString, json["effect"].asString)
                    assertEquals(layers.map { it.digest() }, d.policies.map { it.digest })
                }
            }
        }
        assertTrue(tests.size >= 30, "only ${tests.size} decide vectors")
        return tests
    }
}

class EvidenceVectorsTest {
    private val records = readJson("evidence/records.json")
    private val pem = records["public_key_pem"].asString
    private val otherPem = records["other_public_key_pem"].asString
    private val checkpoint = spec("evidence/checkpoint.json").readText()

    @Test
    fun `the log verifies against the key and checkpoint`() {
        val r = verifyJsonl(spec("evidence/log.jsonl").readBytes(), listOf(pem), checkpoint)
        assertEquals(0, r.exitCode, r.json)
        assertEquals(Integrity.Valid, r.integrity)
        assertEquals(Completeness.Complete(3UL), r.completeness)
        assertEquals(4UL, r.records)
        assertEquals(records["stream"].asString, r.stream)
        val last = records.getAsJsonArray("records").last().asJsonObject
        assertEquals(last["seq"].asLong.toULong(), r.headSeq)
        assertEquals(last["hash"].asString, r.headHash)
        assertEquals(mapOf("decision" to 2UL, "outcome" to 1UL, "recovery" to 1UL), r.kinds)
        assertEquals(emptyList<String>(), r.unknownKeys)
    }

    @Test
    fun `a log signed by a key the verifier does not trust is not valid`() {
        val r = verifyJsonl(spec("evidence/log.jsonl").readBytes(), listOf(otherPem), null)
        assertTrue(r.exitCode == 1 || r.exitCode == 3, r.json)
        assertEquals(listOf(records["key_id"].asString), r.unknownKeys)
    }

    @Test
    fun `without a checkpoint a cut tail cannot be seen`() {
        val r = verifyJsonl(spec("evidence/tampered/truncated-tail.jsonl").readBytes(), listOf(pem))
        assertEquals(0, r.exitCode, r.json)
        assertEquals(Completeness.Unchecked, r.completeness)
    }

    @TestFactory
    fun `tampered logs get their verdicts`(): List<DynamicTest> {
        val cases = readJson("evidence/tampered/verdicts.json").getAsJsonArray("cases")
        assertTrue(cases.size() >= 9)
        return cases.map { it.asJsonObject }.map { c ->
            val file = c["file"].asString
            DynamicTest.dynamicTest(file) {
                val r = verifyJsonl(spec("evidence/$file").readBytes(), listOf(pem), checkpoint)
                assertEquals(c["exit_code"].asInt, r.exitCode, r.json)
                val broken = (r.integrity as? Integrity.Broken)?.seq?.toLong()
                val expected = c["broken_seq"].takeUnless { it.isJsonNull }?.asLong
                assertEquals(expected, broken, r.json)
            }
        }
    }

    @Test
    fun `records canonicalise to their attested bytes and hashes`() {
        val lines = spec("evidence/log.jsonl").readLines().filter { it.isNotBlank() }
        val expected = records.getAsJsonArray("records").map { it.asJsonObject }
        assertEquals(expected.size, lines.size)
        val pretty = GsonBuilder().setPrettyPrinting().create()
        for ((line, rec) in lines.zip(expected)) {
            val obj = JsonParser.parseString(line).asJsonObject
            assertEquals(rec["hash"].asString, obj["hash"].asString)
            obj.remove("hash")
            obj.remove("sig")
            // Keys in reverse order and pretty-printed: canonicalisation must undo both.
            val shuffled = reversedKeys(obj)
            val canonical = canonicalJson(pretty.toJson(shuffled))
            assertEquals(rec["attested_canonical"].asString, canonical)
            val digest = MessageDigest.getInstance("SHA-256")
            digest.update("lumenflow.record.v1".toByteArray() + byteArrayOf(0))
            digest.update(canonical.toByteArray(Charsets.UTF_8))
            val hex = digest.digest().joinToString("") { "%02x".format(it) }
            assertEquals(rec["hash"].asString, "sha256:$hex")
        }
    }

    private fun reversedKeys(e: JsonElement): JsonElement = when {
        e.isJsonObject -> JsonObject().also { out ->
            e.asJsonObject.entrySet().reversed().forEach { (k, v) -> out.add(k, reversedKeys(v)) }
        }
        else -> e
    }
}

class CanonicalVectorsTest {
    @TestFactory
    fun `rfc8785 published vectors`(): List<DynamicTest> {
        val inputs = spec("rfc8785/input").listFiles()!!.sortedBy { it.name }
        assertEquals(6, inputs.size)
        return inputs.map { input ->
            DynamicTest.dynamicTest(input.name) {
                val expected = spec("rfc8785/output/${input.name}").readBytes()
                val got = canonicalJson(input.readText()).toByteArray(Charsets.UTF_8)
                assertEquals(String(expected, Charsets.UTF_8), String(got, Charsets.UTF_8))
                val hex = spec("rfc8785/outhex/${input.nameWithoutExtension}.txt").readText()
                    .split(Regex("\\s+")).filter { it.isNotEmpty() }.joinToString("").lowercase()
                assertEquals(hex, got.joinToString("") { "%02x".format(it) })
            }
        }
    }

    @Test
    fun `rfc8785 number corpus`() {
        var n = 0
        for ((i, line) in spec("rfc8785/numbers.txt").readLines().withIndex()) {
            if (line.isBlank()) continue
            val (bits, expected) = line.split(',', limit = 2)
            val d = java.lang.Double.longBitsToDouble(java.lang.Long.parseUnsignedLong(bits, 16))
            if (!d.isFinite()) continue // JSON has no NaN or infinities
            // The exact decimal value of the double: parses back to the same double.
            val literal = BigDecimal(d).toString()
            assertEquals("[$expected]", canonicalJson("[$literal]"), "line ${i + 1}: $bits")
            n++
        }
        assertTrue(n >= 19_000, "only $n numbers checked")
    }
}

/**
 * C2SP's Ed25519 edge-case vectors (spec/vectors/ed25519-cctv/) under the strict rule: a
 * vector verifies iff its only edge cases are low-order components (as the core test).
 */
class Ed25519VectorsTest {
    private val vectors = JsonParser.parseString(spec("ed25519-cctv/ed25519vectors.json").readText())
        .asJsonArray.map { it.asJsonObject }

    private fun flags(v: JsonObject): List<String> =
        v["flags"].takeUnless { it.isJsonNull }?.asJsonArray?.map { it.asString } ?: emptyList()

    @Test
    fun `every cctv vector gets the strict verdict`() {
        assertEquals(914, vectors.size)
        val lowOrderComponents = setOf("low_order_component_A", "low_order_component_R")
        var accepted = 0
        for (v in vectors) {
            val expected = flags(v).all { it in lowOrderComponents }
            val got = verifySignature(v["key"].asString, v["msg"].asString.toByteArray(Charsets.UTF_8), v["sig"].asString)
            assertEquals(expected, got, "vector ${v["number"].asInt} with flags ${flags(v)}")
            if (got) accepted++
        }
        assertTrue(accepted in 1 until vectors.size, "$accepted of ${vectors.size} accepted")
    }

    @Test
    fun `upper-case or signed hex is never a signature`() {
        val good = vectors.first { it["flags"].isJsonNull }
        val (key, sig) = good["key"].asString to good["sig"].asString
        val msg = good["msg"].asString.toByteArray(Charsets.UTF_8)
        assertTrue(verifySignature(key, msg, sig))
        assertEquals(false, verifySignature(key, msg, sig.uppercase()))
        assertEquals(false, verifySignature(key.uppercase(), msg, sig))
        assertEquals(false, verifySignature(key, msg, "+" + sig.drop(1)))
    }
}
