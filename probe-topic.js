const { loadConfig } = require('./dist/src/config'); const { createKafka } = require('./dist/src/kafka/producer');
(async () => { const a = createKafka(loadConfig(), 'x').admin(); await a.connect(); await a.createTopics({ topics: [{ topic: process.argv[2], numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true }); await a.disconnect(); })();
