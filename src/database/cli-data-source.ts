/** The DataSource the TypeORM CLI uses (`npm run migration:run`), from the same config. */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source.js';

const config = loadConfig(process.env);
// Migrations need a session (their advisory lock): the direct connection, never PgBouncer.
export default new DataSource(
  dataSourceOptions({ ...config, database: { ...config.database, url: config.database.directUrl } }),
);
