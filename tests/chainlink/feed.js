#!/usr/bin/env node
// feed.js: test helper for tests/integration/96_chainlink_ganache.sh.
//   node feed.js deploy RPC_URL DECIMALS DESCRIPTION          -> prints the contract address
//   node feed.js set RPC_URL ADDRESS ROUND ANSWER STARTED UPDATED ANSWERED_IN_ROUND
// Compiles PriceFeed.sol with solc (npm, pinned in package.json) and talks plain JSON-RPC to
// the node, sending from its first unlocked account (ganache's), so no key handling is needed.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

async function rpc(url, method, params) {
    const res = await fetch(url, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({jsonrpc: '2.0', id: 1, method, params}),
    });
    const body = await res.json();
    if (body.error) throw new Error(method + ': ' + JSON.stringify(body.error));
    return body.result;
}

// Compiling with solcjs takes seconds: FEED_BUILD names a file that keeps the first result.
function compile() {
    const cache = process.env.FEED_BUILD;
    if (cache && fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache, 'utf8'));
    const built = compileSource();
    if (cache) fs.writeFileSync(cache, JSON.stringify(built));
    return built;
}

function compileSource() {
    const source = fs.readFileSync(path.join(__dirname, 'PriceFeed.sol'), 'utf8');
    const input = {
        language: 'Solidity',
        sources: {'PriceFeed.sol': {content: source}},
        // paris: no PUSH0, so any node that predates Shanghai runs the bytecode too.
        settings: {evmVersion: 'paris', optimizer: {enabled: true, runs: 200},
                   outputSelection: {'*': {'*': ['evm.bytecode.object', 'evm.methodIdentifiers']}}},
    };
    const out = JSON.parse(solc.compile(JSON.stringify(input)));
    const errors = (out.errors || []).filter((e) => e.severity === 'error');
    if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
    const evm = out.contracts['PriceFeed.sol'].PriceFeed.evm;
    return {bytecode: evm.bytecode.object, ids: evm.methodIdentifiers};
}

// One 32-byte ABI word of a (possibly negative) integer, two's complement.
function word(value) {
    let v = BigInt(value);
    if (v < 0n) v = (1n << 256n) + v;
    return v.toString(16).padStart(64, '0');
}

function encodeString(text) {
    const bytes = Buffer.from(text, 'utf8');
    const padded = Buffer.concat([bytes, Buffer.alloc((32 - (bytes.length % 32)) % 32)]);
    return word(bytes.length) + padded.toString('hex');
}

async function send(url, tx) {
    const from = (await rpc(url, 'eth_accounts', []))[0];
    const hash = await rpc(url, 'eth_sendTransaction', [{from, gas: '0x4c4b40', ...tx}]);
    for (let i = 0; i < 100; i++) {
        const receipt = await rpc(url, 'eth_getTransactionReceipt', [hash]);
        if (receipt) {
            if (receipt.status !== '0x1') throw new Error('transaction reverted: ' + hash);
            return receipt;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no receipt for ' + hash);
}

async function main() {
    const [cmd, url, ...args] = process.argv.slice(2);
    if (cmd === 'deploy') {
        const [decimals, description] = args;
        // Constructor (uint8, string): head = decimals word + offset 0x40, tail = the string.
        const ctor = word(decimals) + word(64) + encodeString(description);
        const receipt = await send(url, {data: '0x' + compile().bytecode + ctor});
        console.log(receipt.contractAddress);
    } else if (cmd === 'set') {
        const [address, round, answer, started, updated, answeredIn] = args;
        // The selector comes from solc's method identifiers (keccak256 of the signature).
        const selector = compile().ids['setRound(uint80,int256,uint256,uint256,uint80)'];
        const data = '0x' + selector + word(round) + word(answer) + word(started) +
                     word(updated) + word(answeredIn);
        await send(url, {to: address, data});
        console.log('ok');
    } else {
        console.error('usage: feed.js deploy RPC DECIMALS DESCRIPTION | set RPC ADDR ROUND ANSWER STARTED UPDATED ANSWERED');
        process.exit(2);
    }
}

main().catch((e) => { console.error('feed.js: ' + e.message); process.exit(1); });
