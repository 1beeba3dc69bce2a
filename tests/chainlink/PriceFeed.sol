// SPDX-License-Identifier: UNLICENSED
// PriceFeed.sol: a test-only Chainlink-style price feed implementing AggregatorV3Interface.
// Tests set every field of a round (including a negative answer and an old updatedAt) so that
// the client's ABI decoding and staleness rules can be checked against a real EVM node.
pragma solidity ^0.8.19;

interface AggregatorV3Interface {
    function decimals() external view returns (uint8);
    function description() external view returns (string memory);
    function version() external view returns (uint256);
    function getRoundData(uint80 _roundId) external view returns (
        uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    function latestRoundData() external view returns (
        uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

contract PriceFeed is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
        bool exists;
    }

    address private immutable owner;
    uint8 private immutable feedDecimals;
    string private feedDescription;
    uint80 private latestRound;
    mapping(uint80 => Round) private rounds;

    constructor(uint8 _decimals, string memory _description) {
        owner = msg.sender;
        feedDecimals = _decimals;
        feedDescription = _description;
    }

    // Records a round and makes it the latest one; the caller chooses every field.
    function setRound(uint80 _roundId, int256 _answer, uint256 _startedAt, uint256 _updatedAt,
                      uint80 _answeredInRound) external {
        require(msg.sender == owner, "not owner");
        rounds[_roundId] = Round(_answer, _startedAt, _updatedAt, _answeredInRound, true);
        latestRound = _roundId;
    }

    function decimals() external view override returns (uint8) {
        return feedDecimals;
    }

    function description() external view override returns (string memory) {
        return feedDescription;
    }

    function version() external pure override returns (uint256) {
        return 4;
    }

    function getRoundData(uint80 _roundId) public view override returns (
        uint80, int256, uint256, uint256, uint80) {
        Round memory r = rounds[_roundId];
        require(r.exists, "No data present");
        return (_roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function latestRoundData() external view override returns (
        uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }
}
